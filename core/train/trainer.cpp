#include "train/trainer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <ATen/autocast_mode.h>

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
#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

namespace dilute::train {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct AmpGuard {
    explicit AmpGuard(torch::Dtype dt, bool on) : on_(on) {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_dtype(at::kCUDA, dt);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
        at::autocast::set_autocast_gpu_dtype(dt);
        at::autocast::set_enabled(true);
#endif
    }
    ~AmpGuard() {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
        at::autocast::set_enabled(false);
#endif
        at::autocast::clear_cache();
    }
    bool on_;
};

double lrAt(const TrainOptions& o, long long step, long long total, long long warmup) {
    if (step < warmup) return o.lr * double(step + 1) / double(warmup);
    const double p = total > warmup ? double(step - warmup) / double(total - warmup) : 1.0;
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * std::min(1.0, p)));
}

double sampleBeta(std::mt19937_64& rng, double a) {
    std::gamma_distribution<double> g(a, 1.0);
    const double x = g(rng), y = g(rng);
    return x + y > 0 ? x / (x + y) : 0.5;
}

// Mixup / CutMix (timm: one or the other per batch, switch probability 0.5) with soft targets.
torch::Tensor mixBatch(torch::Tensor& x, const torch::Tensor& y, int classes, const TrainOptions& o,
                       std::mt19937_64& rng) {
    const double smooth = o.label_smoothing;
    auto onehot = torch::full({y.size(0), classes}, smooth / classes, x.options().dtype(torch::kFloat));
    onehot.scatter_(1, y.unsqueeze(1), 1.0 - smooth + smooth / classes);
    const bool useMix = o.mixup > 0, useCut = o.cutmix > 0;
    if (!useMix && !useCut) return onehot;
    std::uniform_real_distribution<double> U(0, 1);
    const bool cut = useCut && (!useMix || U(rng) < 0.5);
    double lam = sampleBeta(rng, cut ? o.cutmix : o.mixup);
    auto xf = x.flip(0);
    if (cut) {
        const int64_t H = x.size(2), W = x.size(3);
        const double r = std::sqrt(1.0 - lam);
        const int64_t ch = int64_t(H * r), cw = int64_t(W * r);
        const int64_t cy = int64_t(U(rng) * H), cx = int64_t(U(rng) * W);
        const int64_t y1 = std::clamp<int64_t>(cy - ch / 2, 0, H), y2 = std::clamp<int64_t>(cy + ch / 2, 0, H);
        const int64_t x1 = std::clamp<int64_t>(cx - cw / 2, 0, W), x2 = std::clamp<int64_t>(cx + cw / 2, 0, W);
        x = x.clone();
        using torch::indexing::Slice;
        x.index_put_({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)},
                     xf.index({Slice(), Slice(), Slice(y1, y2), Slice(x1, x2)}));
        lam = 1.0 - double((y2 - y1) * (x2 - x1)) / double(H * W);
    } else {
        x = x * lam + xf * (1.0 - lam);
    }
    return onehot * lam + onehot.flip(0) * (1.0 - lam);
}

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

    TrainOptions o_;
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
    o_.validate();
    if (o_.out_dir.empty()) throw Error("training needs a run folder (--out)");
    device_ = resolveDevice(o_.device);
    // Rank 0 owns the run folder: a fresh run never writes into another run's.
    if (!resuming_ && (group_ ? group_->isMain() : dist::detectLaunch().rank == 0))
        prepareRunFolder(o_.out_dir, o_.overwrite);
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
    const int G = o_.global_batch;
    if (G < world())
        throw Error("global batch " + std::to_string(G) + " is smaller than the " + std::to_string(world()) +
                    " processes: every process needs at least one image per step");

    io::OpenOptions oo;
    oo.arch = o_.arch;
    oo.seed = o_.seed;
    model_ = io::openModel(o_.model, oo);
    if (!model_->removedBlocks().empty()) throw Error(o_.model + ": cannot train a model whose attention was removed");
    if (const auto bad = io::nonFiniteParameters(*model_); !bad.empty())
        throw Error(o_.model + ": " + std::to_string(bad.size()) + " tensors hold NaN or infinite values (first: " +
                    bad.front() + "); refusing to train from them");
    model_->setDropPath(o_.drop_path);
    model_->to(torch::Device(device_));
    const auto& cfg = model_->config();
    const std::string uri = o_.data.empty() ? cfg.default_data : o_.data;
    if (uri.empty()) throw Error("model '" + o_.model + "' has no default dataset: pass --data URI");

    io::CheckpointState st;
    if (resuming_) {
        try {
            if (main()) io::cleanCheckpoints(ckdir_);  // temp folders of a killed save
            st = io::readCheckpointState(ckdir_, "last");
        } catch (const Error& e) {
            if (main()) throw;
            throw Error("rank " + std::to_string(li.rank) + ": " + e.what() +
                        " (every process of a resumed run reads the run folder: put it on a filesystem all nodes share)");
        }
        sel_.blocks = st.blocks;
        sel_.selector = st.selector;
    } else {
        if (main()) {
            SelectionRequest req{o_.select, uri, o_.calib, o_.seed, device_, o_.workers, fs::join(o_.out_dir, "analysis")};
            sel_ = resolveSelection(*model_, req, obs_.onProgress, cancel_);
        }
        shareSelection();
        if (main()) {
            json cfgj = json::parse(o_.toJson());
            cfgj["resolved_selection"] = {{"selector", sel_.selector}, {"blocks", sel_.blocks}};
            cfgj["architecture"] = json::parse(io::archToJson(cfg, {}, false));
            cfgj["created"] = nowIso();
            cfgj["distributed"] = {{"world_size", world()}, {"backend", group_->backend()}, {"launcher", li.source},
                                   {"per_rank_batch", o_.batch}, {"global_batch", G}};
            fs::atomicWriteText(fs::join(o_.out_dir, "config.json"), cfgj.dump(2) + "\n");
            std::remove(fs::join(o_.out_dir, "metrics.jsonl").c_str());
        }
    }
    const std::string metricsPath = fs::join(o_.out_dir, "metrics.jsonl");
    if (main()) {
        if (resuming_) MetricsLog::truncateAfter(metricsPath, st.step);
        metrics_ = std::make_unique<MetricsLog>(metricsPath);
    }

    auto trainSet = data::limitDataset(data::openDataset(uri, "train"), o_.train_limit);
    auto testSet = data::limitDataset(data::openDataset(uri, "test"), o_.test_limit);
    for (const auto* ds : {trainSet.get(), testSet.get()})
        if (ds->numClasses() != cfg.num_classes)
            throw Error("the model " + o_.model + " has " + std::to_string(cfg.num_classes) + " classes but " +
                        ds->describe() + " has " + std::to_string(ds->numClasses()));
    data::LoaderOptions lo;
    lo.batch_size = G;  // each process builds its shard of every global batch
    lo.shard_rank = li.rank;
    lo.shard_count = world();
    lo.shuffle = true;
    lo.drop_last = trainSet->size() >= size_t(G);
    lo.seed = o_.seed;
    lo.workers = o_.workers;
    lo.pin_memory = device_ != "cpu";
    data::Loader trainLoader(trainSet, data::trainTransform(cfg, o_.augment), lo);
    data::LoaderOptions le = lo;
    le.shuffle = false;
    le.drop_last = false;
    le.batch_size = std::max(G / world(), 256) * world();
    data::Loader testLoader(testSet, data::evalTransform(cfg), le);

    if (main()) {
        // Two checkpoint sets (weights + AdamW moments) exist at once while the newer is written,
        // plus the best weights and final.safetensors: refuse before training, not at the first save.
        uint64_t params = 0;
        for (const auto& p : model_->parameters()) params += static_cast<uint64_t>(p.numel());
        fs::requireFreeSpace(o_.out_dir, params * (2 * 12 + 4 + 4) + (16ULL << 20),
                             "two checkpoints and the final weights of " + cfg.name);
    }
    buildOptimizer();
    spe_ = static_cast<long long>(trainLoader.batchesPerEpoch());
    const long long total = spe_ * o_.epochs;
    const long long warmup = static_cast<long long>(o_.warmup_epochs * spe_);
    int startEpoch = 0;
    double resumedLossSum = 0;
    long long resumedLossN = 0;
    if (resuming_) {
        io::checkStateFitsRun(st, fs::join(ckdir_, "last.json"), o_.epochs, spe_, cfg.depth);
        io::loadCheckpoint(ckdir_, "last", *model_, opt_.get(), st);
        step_ = st.step;
        best_ = st.best_top1;
        startEpoch = st.epoch;
        // The epoch's training loss so far, from the steps logged before the stop (rank 0 logs).
        if (main())
            for (const auto& e : readMetrics(metricsPath))
                if (e.kind == MetricsEvent::Kind::Step && e.step.epoch == startEpoch && e.step.step <= step_)
                    resumedLossSum += e.step.loss, ++resumedLossN;
        log("resumed at step " + std::to_string(step_) + " (epoch " + std::to_string(startEpoch + 1) + ")");
    }
    // torch DDP: every rank starts from rank 0's weights.
    {
        std::vector<torch::Tensor> ps;
        for (auto& p : model_->parameters()) ps.push_back(p.data());
        group_->broadcast(ps);
    }
    if (world() > 1)
        log("data-parallel: " + std::to_string(world()) + " processes (" + group_->backend() + ", " + li.source +
            "), batch " + std::to_string(G / world()) + " per process, global batch " + std::to_string(G));
    if (!resuming_) {
        std::string b;
        for (int x : sel_.blocks) b += " " + std::to_string(x);
        log("training " + cfg.name + " on " + trainSet->describe() + "; dilution of blocks:" +
            (sel_.blocks.empty() ? std::string(" none") : b) + " (" + sel_.selector + ")");
    }
    const bool cuda = device_ != "cpu";
    const std::string amp = o_.amp == "auto" ? (cuda ? "bf16" : "off") : o_.amp;
    if (amp != "off" && !cuda) throw Error("mixed precision (" + amp + ") needs a CUDA device");
    double scale = 65536.0;  // fp16 dynamic loss scale
    long long goodSteps = 0;
    const torch::Device dev(device_);

    // Undecodable images are skipped as they come and reported once, when the run ends or stops.
    auto reportSkips = [&](TrainSummary& s) {
        const auto tr = trainLoader.skipped(), te = testLoader.skipped();
        s.skipped_train = tr.count;
        s.skipped_test = te.count;
        if (tr.count) log(tr.message("training images"));
        if (te.count) log(te.message("test images"));
    };
    TrainSummary sum;
    sum.run_dir = o_.out_dir;
    sum.blocks = sel_.blocks;
    sum.selector = sel_.selector;
    const int classes = cfg.num_classes;
    GradSync sync(*group_);
    double syncSeconds = 0;
    for (int epoch = startEpoch; epoch < o_.epochs; ++epoch) {
        model_->train();
        const auto te0 = Clock::now();
        const long long first = step_ - static_cast<long long>(epoch) * spe_;
        trainLoader.startEpoch(epoch, static_cast<size_t>(std::max(0LL, first)));
        data::Batch batch;
        double lossSum = epoch == startEpoch ? resumedLossSum : 0;
        long long lossN = epoch == startEpoch ? resumedLossN : 0, images = 0;
        auto tStep = Clock::now();
        auto stopHere = [&] {
            save(epoch);
            log("cancelled at step " + std::to_string(step_) + "; checkpoint written");
            reportSkips(sum);
            throw Cancelled();
        };
        while (true) {
            // One process checks its own token here; several agree through the step's collective.
            const bool stopAsked = o_.stop_at_step >= 0 && step_ >= o_.stop_at_step;
            if (world() == 1 && ((cancel_ && cancel_->cancelled()) || stopAsked)) stopHere();
            if (!trainLoader.next(batch)) break;
            if (world() == 1 && batch.images.size(0) == 0) continue;
            applyLambda();
            const double lr = lrAt(o_, step_, total, warmup);
            for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
            // Per-rank streams for drop-path and mixup (rank 0's is the single-process stream).
            const uint64_t salt = uint64_t(li.rank) * 0x9E3779B97F4A7C15ULL;
            torch::manual_seed(data::sampleSeed(o_.seed ^ 0x5eed ^ salt, epoch, static_cast<size_t>(step_)));
            std::mt19937_64 rng(data::sampleSeed(o_.seed ^ 0x6d69 ^ salt, epoch, static_cast<size_t>(step_)));
            const long long n = batch.images.size(0);
            auto x = batch.images.to(dev, true);
            auto y = batch.labels.to(dev, true);
            torch::Tensor loss;
            if (n > 0) {
                AmpGuard guard(amp == "fp16" ? torch::kHalf : torch::kBFloat16, amp != "off");
                if (o_.mixup > 0 || o_.cutmix > 0) {
                    auto target = mixBatch(x, y, classes, o_, rng);
                    auto logits = model_->forward(x).to(torch::kFloat);
                    loss = -(target * torch::log_softmax(logits, 1)).sum(1).mean();
                } else {
                    auto logits = model_->forward(x).to(torch::kFloat);
                    loss = torch::nn::functional::cross_entropy(
                        logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o_.label_smoothing));
                }
            }
            if (n > 0 && step_ == o_.inject_nan_step) loss = loss * std::numeric_limits<double>::quiet_NaN();
            double lv = n > 0 ? loss.item<double>() : 0.0;
            auto nonFinite = [&](double v) {
                const bool haveCheckpoint = fs::exists(fs::join(ckdir_, "last.json"));
                const std::string msg = "loss is " + std::string(std::isnan(v) ? "NaN" : "infinite") + " at step " +
                                        std::to_string(step_ + 1) + " (epoch " + std::to_string(epoch + 1) +
                                        "); training stopped, " +
                                        (haveCheckpoint ? "the last good checkpoint " + fs::join(ckdir_, "last.json") + " is kept"
                                                        : std::string("before any checkpoint was written (none is kept)"));
                log(msg);
                end("failed", msg);
                throw Error(msg);
            };
            if (world() == 1 && !std::isfinite(lv)) nonFinite(lv);
            for (auto& p : model_->parameters()) p.mutable_grad() = torch::Tensor();
            if (n > 0) (amp == "fp16" ? loss * scale : loss).backward();
            long long stepImages = n;
            bool stopAfter = false;
            if (world() > 1) {
                // Average the gradients over the global batch; learn its loss and whether to stop.
                const bool stopLocal = (cancel_ && cancel_->cancelled()) ||
                                       (o_.stop_at_step >= 0 && step_ + 1 >= o_.stop_at_step);
                const auto tot = sync.reduce(activeParameters(), n, lv, stopLocal);
                syncSeconds += tot.seconds;
                stepImages = static_cast<long long>(tot.samples);
                lv = tot.samples > 0 ? tot.loss_sum / tot.samples : 0.0;
                stopAfter = tot.stop;
                if (!std::isfinite(lv)) nonFinite(lv);
                if (stepImages == 0) {  // every image of this global batch was undecodable
                    if (stopAfter) stopHere();
                    continue;
                }
            }
            if (amp == "fp16") {
                bool finite = true;
                for (auto& p : model_->parameters())
                    if (p.grad().defined()) {
                        p.mutable_grad().div_(scale);
                        finite = finite && torch::isfinite(p.grad()).all().item<bool>();
                    }
                if (!finite) {
                    scale /= 2;
                    goodSteps = 0;
                    for (auto& p : model_->parameters()) p.mutable_grad() = torch::Tensor();
                } else if (++goodSteps % 2000 == 0) {
                    scale *= 2;
                }
            }
            if (o_.clip_grad > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip_grad);
            opt_->step();
            ++step_;
            lossSum += lv;
            ++lossN;
            images += stepImages;
            const auto now = Clock::now();
            const double dt = std::chrono::duration<double>(now - tStep).count();
            tStep = now;
            StepEvent ev;
            ev.step = step_;
            ev.steps_total = total;
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
                if (world() > 1) sj["sync_s"] = syncSeconds, sj["step_s"] = dt;
                metrics_->write(sj.dump());
                if (obs_.onStep) obs_.onStep(ev);
            }
            syncSeconds = 0;
            if (stopAfter) stopHere();
        }
        applyLambda();  // the lambda the next step would use: the state this epoch ends in
        const double trainSeconds = std::chrono::duration<double>(Clock::now() - te0).count();
        EvalResult ev;
        try {
            ev = evaluate(*model_, testLoader, device_, world() == 1 ? cancel_ : nullptr, [&](const Progress& p) {
                if (main() && obs_.onProgress) obs_.onProgress(p);
            }, group_.get());
        } catch (const Cancelled&) {
            // Interrupted while evaluating: the epoch's training is kept; a resume evaluates it.
            save(epoch);
            log("cancelled during the evaluation of epoch " + std::to_string(epoch + 1) + " (step " +
                std::to_string(step_) + "); checkpoint written");
            reportSkips(sum);
            throw;
        }
        EpochEvent ee;
        ee.epoch = epoch;
        ee.step = step_;
        ee.train_loss = lossN ? lossSum / lossN : NAN;
        ee.test_top1 = ev.top1;
        ee.test_top5 = ev.top5;
        ee.test_loss = ev.loss;
        ee.seconds = std::chrono::duration<double>(Clock::now() - te0).count();
        ee.images_per_s = trainSeconds > 0 ? images / trainSeconds : 0;
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
        sum.final_top1 = ev.top1;
        sum.final_top5 = ev.top5;
        sum.epochs_done = epoch + 1;
    }
    if (main())
        io::saveModel(*model_, fs::join(o_.out_dir, "final.safetensors"),
                      {{"dilute.selection", json(sel_.blocks).dump()}, {"dilute.step", std::to_string(step_)}});
    reportSkips(sum);
    sum.best_top1 = best_;
    sum.steps = step_;
    sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    char top1[32];
    std::snprintf(top1, sizeof top1, "%.2f%%", sum.final_top1);
    log(std::string("finished: test top-1 ") + top1 + ", final weights " + fs::join(o_.out_dir, "final.safetensors"));
    end("finished");
    return sum;
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
    auto o = TrainOptions::fromJson(fs::readText(cfg));
    o.out_dir = runDir;
    o.stop_at_step = stopAtStep;
    Run r(o, true, obs, cancel, std::move(group));
    return runToEnd(r);
}

}  // namespace dilute::train
