#include "train/trainer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cmath>
#include <random>

#include "analysis/results.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "dist/group.h"
#include "io/weights.h"
#include "model/preset.h"
#include "io/checkpoint.h"
#include "util/durable.h"
#include "train/evaluate.h"
#include "train/gradsync.h"
#include "train/metrics.h"
#include "train/selection.h"
#include "train/stepmath.h"
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::train {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string nowIso() {
    const auto t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

class Run {
public:
    Run(TrainOptions o, bool resuming, const TrainObserver& obs, const CancelToken* cancel,
        std::shared_ptr<dist::Group> group)
        : o_(std::move(o)), resuming_(resuming), obs_(obs), cancel_(cancel), group_(std::move(group)) {}
    TrainSummary go();
    /// The last event of metrics.jsonl: how the run ended (rank 0; a follower stops there).
    void end(const std::string& status, const std::string& message = {}) {
        if (ended_) return;
        ended_ = true;
        if (metrics_)
            metrics_->write(json{{"event", "end"}, {"status", status}, {"step", step_}, {"time", nowIso()}, {"message", message}}.dump());
    }

private:
    bool main() const { return group_->isMain(); }
    int world() const { return group_->world(); }
    void log(const std::string& s) {
        if (!main()) return;
        if (obs_.onLog) obs_.onLog(s);
        if (metrics_) metrics_->write(json{{"event", "log"}, {"step", step_}, {"time", nowIso()}, {"message", s}}.dump());
    }
    /// One checkpoint set with the optimizer state, pointed at by "last" (and "best" when `best`).
    void save(int epoch, bool best = false) {
        if (!main()) return;
        std::vector<std::string> pointers{"last"};
        if (best) pointers.push_back("best");
        io::saveCheckpoint(ckdir_, pointers, *model_, opt_.get(), state(epoch));
    }
    /// The parameters that take part in this step: all but the attention of fully diluted blocks
    /// (which is not computed, so has no gradient). The same list on every rank.
    std::vector<torch::Tensor> activeParameters() const {
        std::vector<const void*> skipped;
        for (int b : sel_.blocks) {
            auto blk = model_->block(b);
            if (blk->mode() == model::BlockMode::Diluted && blk->lambda() == 0.0) {
                for (const auto& p : blk->norm1->parameters()) skipped.push_back(p.unsafeGetTensorImpl());
                for (const auto& p : blk->attn->parameters()) skipped.push_back(p.unsafeGetTensorImpl());
            }
        }
        std::vector<torch::Tensor> out;
        for (const auto& p : model_->parameters())
            if (std::find(skipped.begin(), skipped.end(), p.unsafeGetTensorImpl()) == skipped.end()) out.push_back(p);
        return out;
    }
    void shareSelection();
    std::vector<double> lambdas() const {
        std::vector<double> l;
        for (int b : sel_.blocks) l.push_back(model_->block(b)->lambda());
        return l;
    }
    bool allDiluted() const {
        for (int b : sel_.blocks)
            if (model_->block(b)->lambda() != 0.0) return false;
        return true;
    }
    void applyLambda() {
        const double lam = o_.schedule.lambdaAt(step_, spe_, o_.epochs);
        for (int b : sel_.blocks) model_->block(b)->setLambda(lam);
    }
    io::CheckpointState state(int epoch) const {
        io::CheckpointState st;
        st.epoch = epoch;
        st.step = step_;
        st.best_top1 = best_;
        st.blocks = sel_.blocks;
        st.selector = sel_.selector;
        st.lambdas = lambdas();
        return st;
    }
    void buildOptimizer();

    // The phases of go(), in order.
    void setUp();                         // options, device, process group, run folder, model
    void openModel();                     // the model, moved to the data's classes (and --img-size)
    io::CheckpointState openRunState();   // resume: the checkpoint's state; fresh: selection + config.json
    void openData();                      // datasets, loaders, free-space check
    void restore(const io::CheckpointState& st);  // schedule lengths; resume: weights, optimizer, step
    struct EpochTrained {
        double loss_sum = 0, seconds = 0;
        long long loss_n = 0, images = 0;
        Clock::time_point start;
    };
    EpochTrained trainEpoch(int epoch);
    /// One optimizer step on `batch`; false when the step was skipped (no image in the whole
    /// global batch). Sets `stop` when the processes agreed to stop after it.
    bool trainStep(int epoch, data::Batch& batch, EpochTrained& acc, Clock::time_point& tStep, bool& stop);
    void evaluateEpoch(int epoch, const EpochTrained& trained);
    TrainSummary finish(Clock::time_point t0);
    [[noreturn]] void stopHere(int epoch);
    [[noreturn]] void nonFiniteLoss(double v, int epoch);
    void reportSkips();

    TrainOptions o_;
    std::vector<std::string> adapted_;  // what openModel changed (new head, resolution): logged, in config.json
    bool resuming_;
    const TrainObserver& obs_;
    const CancelToken* cancel_;
    std::shared_ptr<dist::Group> group_;
    std::string device_, ckdir_;
    model::VisionTransformer model_{nullptr};
    std::unique_ptr<torch::optim::AdamW> opt_;
    std::unique_ptr<MetricsLog> metrics_;
    analysis::Selection sel_;
    long long step_ = 0, spe_ = 0;
    double best_ = -1;
    bool ended_ = false;
    // Set up by the phases.
    std::string uri_, amp_, metricsPath_;
    data::DatasetPtr trainSet_, testSet_;
    std::unique_ptr<data::Loader> trainLoader_, testLoader_;
    long long total_ = 0, warmup_ = 0;
    int startEpoch_ = 0;
    double resumedLossSum_ = 0;  // the resumed epoch's training loss before the stop
    long long resumedLossN_ = 0;
    LossScaler scaler_;
    std::unique_ptr<GradSync> sync_;
    std::unique_ptr<RunLock> lock_;  // rank 0: held while this process writes the run folder
    double syncSeconds_ = 0;
    TrainSummary sum_;
};

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
    groups.emplace_back(nodecay,
                        std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(o_.lr).weight_decay(0.0)));
    opt_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o_.lr));
}

TrainSummary Run::go() {
    const auto t0 = Clock::now();
    setUp();
    const auto st = openRunState();
    openData();
    buildOptimizer();
    restore(st);
    for (int epoch = startEpoch_; epoch < o_.epochs; ++epoch) evaluateEpoch(epoch, trainEpoch(epoch));
    return finish(t0);
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
    if (!group_) group_ = dist::Group::create(dist::detectLaunch(), device_, std::chrono::seconds(o_.dist_timeout));
    const auto& li = group_->launch();
    if (world() > 1 && device_ == "cuda") device_ = "cuda:" + std::to_string(li.local_rank);  // one GPU per process
    ckdir_ = fs::join(o_.out_dir, "checkpoints");
    if (main()) {
        fs::ensureWritableDir(o_.out_dir);  // a full disk or unwritable folder fails before any work
        fs::makeDirs(ckdir_);
    }
    // The global batch is the run's: fixed at the start, kept when resumed with another world.
    if (!resuming_) o_.global_batch = o_.batch * world();
    else if (o_.global_batch <= 0) o_.global_batch = o_.batch;  // a run from before data-parallel training: one process
    if (o_.global_batch < world())
        throw Error("global batch " + std::to_string(o_.global_batch) + " is smaller than the " + std::to_string(world()) +
                    " processes: every process needs at least one image per step");

    openModel();
    const bool cuda = device_ != "cpu";
    amp_ = o_.amp == "auto" ? (cuda ? "bf16" : "off") : o_.amp;
    if (amp_ != "off" && !cuda) throw Error("mixed precision (" + amp_ + ") needs a CUDA device");
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
        throw Error(o_.model + ": " + std::to_string(bad.size()) + " tensors hold NaN or infinite values (first: " +
                    bad.front() + "); refusing to train from them");
    model_->setDropPath(o_.drop_path);
    model_->to(torch::Device(device_));
}

io::CheckpointState Run::openRunState() {
    io::CheckpointState st;
    const auto& cfg = model_->config();
    if (resuming_) {
        try {
            if (main()) io::cleanCheckpoints(ckdir_);  // temp folders of a killed save
            st = io::readCheckpointState(ckdir_, "last");
        } catch (const Error& e) {
            if (main()) throw;
            throw Error("rank " + std::to_string(group_->launch().rank) + ": " + e.what() +
                        " (every process of a resumed run reads the run folder: put it on a filesystem all nodes share)");
        }
        sel_.blocks = st.blocks;
        sel_.selector = st.selector;
    } else {
        if (main()) {
            SelectionRequest req{o_.select, uri_, o_.calib, o_.seed, device_, o_.workers, fs::join(o_.out_dir, "analysis")};
            sel_ = resolveSelection(*model_, req, obs_.onProgress, cancel_);
        }
        shareSelection();
        if (main()) {
            const auto& li = group_->launch();
            json cfgj = json::parse(o_.toJson());
            cfgj["resolved_selection"] = {{"selector", sel_.selector}, {"blocks", sel_.blocks}};
            cfgj["architecture"] = json::parse(io::archToJson(cfg, {}, false));
            cfgj["adapted"] = adapted_;  // e.g. "head replaced: 1000 -> 10 classes ..."
            cfgj["created"] = nowIso();
            cfgj["distributed"] = {{"world_size", world()}, {"backend", group_->backend()}, {"launcher", li.source},
                                   {"per_rank_batch", o_.batch}, {"global_batch", o_.global_batch}};
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
        // The epoch's training loss so far, from the steps logged before the stop (rank 0 logs).
        if (main())
            for (const auto& e : readMetrics(metricsPath_))
                if (e.kind == MetricsEvent::Kind::Step && e.step.epoch == startEpoch_ && e.step.step <= step_)
                    resumedLossSum_ += e.step.loss, ++resumedLossN_;
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
        log("training " + cfg.name + " on " + trainSet_->describe() + "; dilution of blocks:" +
            (sel_.blocks.empty() ? std::string(" none") : b) + " (" + sel_.selector + ")" +
            (o_.recipe.empty() ? std::string() : "; recipe " + o_.recipe));
    }
    sum_.run_dir = o_.out_dir;
    sum_.blocks = sel_.blocks;
    sum_.selector = sel_.selector;
    sync_ = std::make_unique<GradSync>(*group_);
}

// Undecodable images are skipped as they come and reported once, when the run ends or stops.
void Run::reportSkips() {
    const auto tr = trainLoader_->skipped(), te = testLoader_->skipped();
    sum_.skipped_train = tr.count;
    sum_.skipped_test = te.count;
    if (tr.count) log(tr.message("training images"));
    if (te.count) log(te.message("test images"));
}

void Run::stopHere(int epoch) {
    save(epoch);
    log("cancelled at step " + std::to_string(step_) + "; checkpoint written");
    reportSkips();
    throw Cancelled();
}

void Run::nonFiniteLoss(double v, int epoch) {
    const bool haveCheckpoint = fs::exists(fs::join(ckdir_, "last.json"));
    const std::string msg = "loss is " + std::string(std::isnan(v) ? "NaN" : "infinite") + " at step " +
                            std::to_string(step_ + 1) + " (epoch " + std::to_string(epoch + 1) + "); training stopped, " +
                            (haveCheckpoint ? "the last good checkpoint " + fs::join(ckdir_, "last.json") + " is kept"
                                            : std::string("before any checkpoint was written (none is kept)"));
    log(msg);
    end("failed", msg);
    throw Error(msg);
}

Run::EpochTrained Run::trainEpoch(int epoch) {
    model_->train();
    EpochTrained acc;
    acc.start = Clock::now();
    const long long first = step_ - static_cast<long long>(epoch) * spe_;
    trainLoader_->startEpoch(epoch, static_cast<size_t>(std::max(0LL, first)));
    if (epoch == startEpoch_) acc.loss_sum = resumedLossSum_, acc.loss_n = resumedLossN_;
    data::Batch batch;
    auto tStep = Clock::now();
    while (true) {
        // One process checks its own token here; several agree through the step's collective.
        const bool stopAsked = o_.stop_at_step >= 0 && step_ >= o_.stop_at_step;
        if (world() == 1 && ((cancel_ && cancel_->cancelled()) || stopAsked)) stopHere(epoch);
        if (!trainLoader_->next(batch)) break;
        if (world() == 1 && batch.images.size(0) == 0) continue;
        bool stop = false;
        if (!trainStep(epoch, batch, acc, tStep, stop)) {
            if (stop) stopHere(epoch);
            continue;
        }
        if (stop) stopHere(epoch);
    }
    applyLambda();  // the lambda the next step would use: the state this epoch ends in
    acc.seconds = std::chrono::duration<double>(Clock::now() - acc.start).count();
    return acc;
}

bool Run::trainStep(int epoch, data::Batch& batch, EpochTrained& acc, Clock::time_point& tStep, bool& stop) {
    applyLambda();
    const double lr = lrAt(o_.lr, o_.min_lr, step_, total_, warmup_);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    // Per-rank streams for drop-path and mixup (rank 0's is the single-process stream).
    const uint64_t salt = uint64_t(group_->launch().rank) * 0x9E3779B97F4A7C15ULL;
    torch::manual_seed(data::sampleSeed(o_.seed ^ 0x5eed ^ salt, epoch, static_cast<size_t>(step_)));
    std::mt19937_64 rng(data::sampleSeed(o_.seed ^ 0x6d69 ^ salt, epoch, static_cast<size_t>(step_)));
    const long long n = batch.images.size(0);
    const torch::Device dev(device_);
    auto x = batch.images.to(dev, true);
    auto y = batch.labels.to(dev, true);
    torch::Tensor loss;
    if (n > 0) {
        AutocastScope autocast(amp_ == "fp16" ? torch::kHalf : torch::kBFloat16, amp_ != "off");
        if (o_.mixup > 0 || o_.cutmix > 0) {
            const auto mixed = mixBatch(x, y, model_->config().num_classes, {o_.mixup, o_.cutmix, o_.label_smoothing}, rng);
            auto logits = model_->forward(x).to(torch::kFloat);
            loss = -(mixed.target * torch::log_softmax(logits, 1)).sum(1).mean();
        } else {
            auto logits = model_->forward(x).to(torch::kFloat);
            loss = torch::nn::functional::cross_entropy(
                logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o_.label_smoothing));
        }
    }
    if (n > 0 && step_ == o_.inject_nan_step) loss = loss * std::numeric_limits<double>::quiet_NaN();
    double lv = n > 0 ? loss.item<double>() : 0.0;
    if (world() == 1 && !std::isfinite(lv)) nonFiniteLoss(lv, epoch);
    for (auto& p : model_->parameters()) p.mutable_grad() = torch::Tensor();
    if (n > 0) (amp_ == "fp16" ? scaler_.scale(loss) : loss).backward();
    long long stepImages = n;
    if (world() > 1) {
        // Average the gradients over the global batch; learn its loss and whether to stop.
        const bool stopLocal =
            (cancel_ && cancel_->cancelled()) || (o_.stop_at_step >= 0 && step_ + 1 >= o_.stop_at_step);
        const auto tot = sync_->reduce(activeParameters(), n, lv, stopLocal);
        syncSeconds_ += tot.seconds;
        stepImages = static_cast<long long>(tot.samples);
        lv = tot.samples > 0 ? tot.loss_sum / tot.samples : 0.0;
        stop = tot.stop;
        if (!std::isfinite(lv)) nonFiniteLoss(lv, epoch);
        if (stepImages == 0) return false;  // every image of this global batch was undecodable
    }
    // fp16: an overflowed step is skipped (the gradients are cleared), as GradScaler does.
    const bool apply = amp_ != "fp16" || scaler_.unscaleAndUpdate(model_->parameters());
    if (apply) {
        if (o_.clip_grad > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip_grad);
        opt_->step();
    }
    ++step_;
    acc.loss_sum += lv;
    ++acc.loss_n;
    acc.images += stepImages;
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - tStep).count();
    tStep = now;
    StepEvent ev;
    ev.step = step_;
    ev.steps_total = total_;
    ev.epoch = epoch;
    ev.epochs = o_.epochs;
    ev.loss = lv;
    ev.lr = lr;
    ev.images_per_s = dt > 0 ? stepImages / dt : 0;
    ev.blocks = sel_.blocks;
    ev.lambdas = lambdas();
    if (main()) {
        json sj{{"event", "step"}, {"step", ev.step}, {"epoch", epoch}, {"loss", lv}, {"lr", lr},
                {"images_per_s", ev.images_per_s}, {"blocks", ev.blocks}, {"lambda", ev.lambdas}};
        if (world() > 1) sj["sync_s"] = syncSeconds_, sj["step_s"] = dt;
        if (amp_ == "fp16") sj["loss_scale"] = scaler_.value();
        metrics_->write(sj.dump());
        if (obs_.onStep) obs_.onStep(ev);
    }
    syncSeconds_ = 0;
    return true;
}

void Run::evaluateEpoch(int epoch, const EpochTrained& trained) {
    EvalResult ev;
    try {
        ev = evaluate(*model_, *testLoader_, device_, world() == 1 ? cancel_ : nullptr, [&](const Progress& p) {
            if (main() && obs_.onProgress) obs_.onProgress(p);
        }, group_.get());
    } catch (const Cancelled&) {
        // Interrupted while evaluating: the epoch's training is kept; a resume evaluates it.
        save(epoch);
        log("cancelled during the evaluation of epoch " + std::to_string(epoch + 1) + " (step " +
            std::to_string(step_) + "); checkpoint written");
        reportSkips();
        throw;
    }
    EpochEvent ee;
    ee.epoch = epoch;
    ee.step = step_;
    ee.train_loss = trained.loss_n ? trained.loss_sum / trained.loss_n : NAN;
    ee.test_top1 = ev.top1;
    ee.test_top5 = ev.top5;
    ee.test_loss = ev.loss;
    ee.seconds = std::chrono::duration<double>(Clock::now() - trained.start).count();
    ee.images_per_s = trained.seconds > 0 ? trained.images / trained.seconds : 0;
    ee.lambdas = lambdas();
    if (allDiluted() && ev.top1 > best_) {
        best_ = ev.top1;
        ee.best = true;
    }
    // The epoch's event first, then its checkpoint: a crash between the two resumes from the
    // previous set, which drops the event again (events after a checkpoint's step are cut).
    if (main()) {
        metrics_->write(json{{"event", "epoch"}, {"epoch", epoch}, {"step", step_}, {"train_loss", ee.train_loss},
                             {"test_top1", ev.top1}, {"test_top5", ev.top5}, {"test_loss", ev.loss},
                             {"test_images", ev.images}, {"seconds", ee.seconds}, {"images_per_s", ee.images_per_s},
                             {"lambda", ee.lambdas}, {"best", ee.best}}
                            .dump());
        if (obs_.onEpoch) obs_.onEpoch(ee);
    }
    save(epoch + 1, ee.best);
    sum_.final_top1 = ev.top1;
    sum_.final_top5 = ev.top5;
    sum_.epochs_done = epoch + 1;
}

TrainSummary Run::finish(Clock::time_point t0) {
    if (main())
        io::saveModel(*model_, fs::join(o_.out_dir, "final.safetensors"),
                      {{"dilute.selection", json(sel_.blocks).dump()}, {"dilute.step", std::to_string(step_)}});
    reportSkips();
    sum_.best_top1 = best_;
    sum_.steps = step_;
    sum_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    char top1[32];
    std::snprintf(top1, sizeof top1, "%.2f%%", sum_.final_top1);
    log(std::string("finished: test top-1 ") + top1 + ", final weights " + fs::join(o_.out_dir, "final.safetensors"));
    end("finished");
    return sum_;
}

TrainSummary runToEnd(Run& r) {
    try {
        return r.go();
    } catch (const Cancelled&) {
        r.end("cancelled");
        throw;
    } catch (const std::exception& e) {
        r.end("failed", e.what());  // no-op when already written (non-finite loss) or not rank 0
        throw;
    }
}

}  // namespace

TrainSummary train(const TrainOptions& opts, const TrainObserver& obs, const CancelToken* cancel,
                   std::shared_ptr<dist::Group> group) {
    Run r(opts, false, obs, cancel, std::move(group));
    return runToEnd(r);
}

TrainSummary resume(const std::string& runDir, const TrainObserver& obs, const CancelToken* cancel,
                    std::shared_ptr<dist::Group> group, long long stopAtStep) {
    const std::string cfg = fs::join(runDir, "config.json");
    if (!fs::exists(cfg)) throw Error(cfg + ": not a run folder (no config.json)");
    auto o = TrainOptions::fromJson(fs::readText(cfg), cfg);
    o.out_dir = runDir;
    o.stop_at_step = stopAtStep;
    Run r(o, true, obs, cancel, std::move(group));
    return runToEnd(r);
}

}  // namespace dilute::train
