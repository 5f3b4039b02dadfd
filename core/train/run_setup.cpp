// The run's set-up phases (train/run.h).
#include "train/run.h"

#include "dist/placement.h"
#include "util/torchcompat.h"

namespace dilute::train::detail {

// Rank 0 resolved the selection (it may have run NOSE); every rank dilutes the same blocks.
void Run::shareSelection() {
    if (world() == 1) return;
    auto n = torch::tensor({int64_t(sel_.blocks.size())}, torch::kLong);
    group_->broadcast({n});
    auto b = torch::zeros({n.item<int64_t>()}, torch::kLong);
    if (main())
        for (size_t i = 0; i < sel_.blocks.size(); ++i) b[int64_t(i)] = sel_.blocks[i];
    if (b.numel() > 0) group_->broadcast({b});
    sel_.blocks.assign(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + b.numel());
    if (!main() && sel_.selector.empty()) sel_.selector = o_.select;
}

void Run::buildOptimizer() {
    std::vector<torch::Tensor> decay, nodecay;
    for (const auto& it : model_->named_parameters()) {
        const auto& k = it.key();
        if (it.value().dim() <= 1 || k == "pos_embed" || k == "cls_token")
            nodecay.push_back(it.value());
        else
            decay.push_back(it.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(o_.lr).weight_decay(o_.weight_decay)));
    groups.emplace_back(
        nodecay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o_.lr).weight_decay(0.0)));
    opt_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o_.lr));
}

void Run::setUp() {
    o_.validate();
    if (o_.out_dir.empty()) throw Error("training needs a run folder (--out)");
    device_ = resolveDevice(o_.device);
    // Rank 0 owns the run folder: it locks it (one process writes a run at a time, so a second
    // resume or an --overwrite of a live run is refused) and a fresh run never writes into
    // another run's.
    if (group_ ? group_->isMain() : dist::detectLaunch().rank == 0) {
        if (!resuming_ && !fs::exists(o_.out_dir)) fs::makeDirs(o_.out_dir);
        lock_ = std::make_unique<RunLock>(o_.out_dir);
        if (!resuming_) prepareRunFolder(o_.out_dir, o_.overwrite);
    }
    placeProcess();
    ckdir_ = fs::join(o_.out_dir, "checkpoints");
    if (main()) {
        fs::ensureWritableDir(o_.out_dir);  // a full disk or unwritable folder fails before any work
        fs::makeDirs(ckdir_);
    }
    // The global batch is the run's: fixed at the start, kept when resumed with another world.
    if (!resuming_)
        o_.global_batch = o_.batch * world();
    else if (o_.global_batch <= 0)
        o_.global_batch = o_.batch;  // a run from before data-parallel training: one process
    if (o_.global_batch < world())
        throw Error("global batch " + std::to_string(o_.global_batch) + " is smaller than the " +
                    std::to_string(world()) + " processes: every process needs at least one image per step");

    openModel();
    const bool cuda = device_ != "cpu";
    amp_ = o_.amp == "auto" ? (cuda ? "bf16" : "off") : o_.amp;
    if (amp_ != "off" && !cuda) throw Error("mixed precision (" + amp_ + ") needs a CUDA device");
}

// Local rank -> cuda:(LOCAL_RANK % GPUs); more local processes than GPUs share them over Gloo
// with --allow-shared-gpu (NCCL refuses two ranks on one GPU), else a one-line error. A group
// given by the caller (tests) keeps its own launch and backend.
void Run::placeProcess() {
    const auto li = group_ ? group_->launch() : dist::detectLaunch();
    const int gpus = device_ == "cpu" ? 0 : static_cast<int>(torch::cuda::device_count());
    const auto place = dist::placeRank(device_, li, gpus, o_.allow_shared_gpu);
    device_ = place.device;
    if (device_.rfind("cuda:", 0) == 0) compat::setCudaDevice(torch::Device(device_).index());
    if (!group_) group_ = dist::Group::create(li, device_, std::chrono::seconds(o_.dist_timeout), place.backend());
    if (place.shared && main() && obs_.log)
        obs_.log(std::to_string(li.local_world) + " processes per node share " + std::to_string(gpus) +
                 " GPU(s) (--allow-shared-gpu): gradients are summed over Gloo");
}

// The model moved to the data: opened again, when its class count differs from the data's, with
// a new head for the data's classes (the same seed on every process and on resume, so the head is
// the same one), and with the data recorded as its default (the run's weights then name it).
void Run::openModel() {
    auto oo = io::openOptionsOf(o_);
    oo.seed = o_.seed;
    io::ModelOrigin origin;
    model_ = io::openModel(o_.model, oo, nullptr, nullptr, &origin);
    uri_ = o_.data.empty() ? model_->config().default_data : o_.data;
    if (uri_.empty()) throw Error("model '" + o_.model + "' has no default dataset: pass --data URI");
    trainSet_ = data::limitDataset(data::openDataset(uri_, "train"), o_.train_limit);
    if (trainSet_->numClasses() != model_->config().num_classes || model_->config().default_data != uri_) {
        oo.num_classes = trainSet_->numClasses();
        oo.data = uri_;  // what it is trained on is its data from now on (eval, analyze default to it)
        model_ = io::openModel(o_.model, oo, nullptr, nullptr, &origin);
    }
    adapted_ = origin.adapted;
    for (const auto& a : adapted_) log(o_.model + ": " + a);
    if (!model_->removedBlocks().empty()) throw Error(o_.model + ": cannot train a model whose attention was removed");
    if (const auto bad = io::nonFiniteParameters(*model_); !bad.empty())
        throw Error(o_.model + ": " + std::to_string(bad.size()) +
                    " tensors hold NaN or infinite values (first: " + bad.front() + "); refusing to train from them");
    model_->setDropPath(o_.drop_path);
    model_->to(torch::Device(device_));
}

io::CheckpointState Run::openRunState() {
    io::CheckpointState st;
    const auto& cfg = model_->config();
    if (resuming_ && !fs::exists(fs::join(ckdir_, "last.json"))) {
        // Stopped (or killed) before its first checkpoint: nothing to continue but its options,
        // so it starts again from step 0 with them (the same seed, selection and data order).
        log(o_.out_dir + " has no checkpoint yet (stopped before its first): starting it again from step 0");
        resuming_ = false;
    }
    if (resuming_) {
        try {
            if (main()) io::cleanCheckpoints(ckdir_);  // temp folders of a killed save
            st = io::readCheckpointState(ckdir_, "last");
        } catch (const Error& e) {
            if (main()) throw;
            throw Error(
                "rank " + std::to_string(group_->launch().rank) + ": " + e.what() +
                " (every process of a resumed run reads the run folder: put it on a filesystem all nodes share)");
        }
        sel_.blocks = st.blocks;
        sel_.selector = st.selector;
    } else {
        if (main()) {
            SelectionRequest req{
                o_.select, uri_, o_.calib, o_.seed, device_, o_.workers, fs::join(o_.out_dir, "analysis")};
            sel_ = resolveSelection(*model_, req, obs_.progress, cancel_);
        }
        shareSelection();
        if (main()) {
            const auto& li = group_->launch();
            json cfgj = json::parse(o_.toJson());
            cfgj["resolved_selection"] = {{"selector", sel_.selector}, {"blocks", sel_.blocks}};
            cfgj["architecture"] = json::parse(io::archToJson(cfg, {}, false));
            cfgj["adapted"] = adapted_;  // e.g. "head replaced: 1000 -> 10 classes ..."
            // What `measure --baseline` checks a baseline against (the weights before any step).
            cfgj["starting_weights"] = {{"model", o_.model}, {"fingerprint", io::weightsFingerprint(*model_)}};
            cfgj["created"] = utcNowIso();
            cfgj["distributed"] = {{"world_size", world()},
                                   {"backend", group_->backend()},
                                   {"launcher", li.source},
                                   {"per_rank_batch", o_.batch},
                                   {"global_batch", o_.global_batch}};
            fs::atomicWriteText(fs::join(o_.out_dir, "config.json"), cfgj.dump(2) + "\n");
            std::remove(fs::join(o_.out_dir, "metrics.jsonl").c_str());
        }
    }
    metricsPath_ = fs::join(o_.out_dir, "metrics.jsonl");
    if (main()) {
        if (resuming_) MetricsLog::truncateAfter(metricsPath_, st.step);
        metrics_ = std::make_unique<MetricsLog>(metricsPath_);
    }
    return st;
}

void Run::openData() {
    const auto& cfg = model_->config();
    const auto& li = group_->launch();
    const int G = o_.global_batch;
    testSet_ = data::limitDataset(data::openDataset(uri_, "test"), o_.test_limit);
    for (const auto* ds : {trainSet_.get(), testSet_.get()})
        if (ds->numClasses() != cfg.num_classes)
            throw Error("the model " + o_.model + " has " + std::to_string(cfg.num_classes) + " classes but " +
                        ds->describe() + " has " + std::to_string(ds->numClasses()));
    data::LoaderOptions lo;
    lo.batch_size = G;  // each process builds its shard of every global batch
    lo.shard_rank = li.rank;
    lo.shard_count = world();
    lo.shuffle = true;
    lo.drop_last = trainSet_->size() >= size_t(G);
    lo.seed = o_.seed;
    lo.workers = o_.workers;
    lo.pin_memory = device_ != "cpu";
    trainLoader_ = std::make_unique<data::Loader>(trainSet_, data::trainTransform(cfg, o_.augment), lo);
    data::LoaderOptions le = lo;
    le.shuffle = false;
    le.drop_last = false;
    le.batch_size = std::max(G / world(), 256) * world();
    testLoader_ = std::make_unique<data::Loader>(testSet_, data::evalTransform(cfg), le);
    if (main()) {
        // Two checkpoint sets (weights + AdamW moments) exist at once while the newer is written,
        // plus the best weights and final.safetensors: refuse before training, not at the first save.
        uint64_t params = 0;
        for (const auto& p : model_->parameters()) params += static_cast<uint64_t>(p.numel());
        fs::requireFreeSpace(o_.out_dir, params * (2 * 12 + 4 + 4) + (16ULL << 20),
                             "two checkpoints and the final weights of " + cfg.name);
    }
}

void Run::restore(const io::CheckpointState& st) {
    const auto& cfg = model_->config();
    spe_ = static_cast<long long>(trainLoader_->batchesPerEpoch());
    total_ = spe_ * o_.epochs;
    warmup_ = static_cast<long long>(o_.warmup_epochs * spe_);
    if (resuming_) {
        io::checkStateFitsRun(st, fs::join(ckdir_, "last.json"), o_.epochs, spe_, cfg.depth);
        io::loadCheckpoint(ckdir_, "last", *model_, opt_.get(), st);
        step_ = st.step;
        best_ = st.best_top1;
        startEpoch_ = st.epoch;
        // The model in the state the stopped run had reached: a run stopped after its last step
        // (while writing final.safetensors) goes straight to finish(), which saves it as it is.
        applyLambda();
        // The epoch's training loss so far, from the steps logged before the stop (rank 0 logs),
        // and the last epoch's test figures (the summary of a run with no epoch left to train).
        if (main())
            for (const auto& e : readMetrics(metricsPath_)) {
                if (e.kind == MetricsEvent::Kind::Step && e.step.epoch == startEpoch_ && e.step.step <= step_)
                    resumedLossSum_ += e.step.loss, ++resumedLossN_;
                if (e.kind == MetricsEvent::Kind::Epoch && e.epoch.epoch < startEpoch_) {
                    sum_.final_top1 = e.epoch.test_top1;
                    sum_.final_top5 = e.epoch.test_top5;
                    sum_.epochs_done = e.epoch.epoch + 1;
                }
            }
        log("resumed at step " + std::to_string(step_) + " (epoch " + std::to_string(startEpoch_ + 1) + ")");
    }
    // torch DDP: every rank starts from rank 0's weights.
    {
        std::vector<torch::Tensor> ps;
        for (auto& p : model_->parameters()) ps.push_back(p.data());
        group_->broadcast(ps);
    }
    const int G = o_.global_batch;
    if (world() > 1)
        log("data-parallel: " + std::to_string(world()) + " processes (" + group_->backend() + ", " +
            group_->launch().source + "), batch " + std::to_string(G / world()) + " per process, global batch " +
            std::to_string(G));
    if (!resuming_) {
        std::string b;
        for (int x : sel_.blocks) b += " " + std::to_string(x);
        log("training " + cfg.name + " on " + trainSet_->describe() +
            "; dilution of blocks:" + (sel_.blocks.empty() ? std::string(" none") : b) + " (" + sel_.selector + ")" +
            (o_.recipe.empty() ? std::string() : "; recipe " + o_.recipe));
    }
    sum_.run_dir = o_.out_dir;
    sum_.blocks = sel_.blocks;
    sum_.selector = sel_.selector;
    sync_ = std::make_unique<GradSync>(*group_);
}

// Undecodable images are skipped as they come and reported once, when the run ends or stops.

}  // namespace dilute::train::detail
