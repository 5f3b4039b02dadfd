// The run's epoch loop, evaluation, checkpoints and end (train/run.h).
#include "train/run.h"

namespace dilute::train::detail {

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
                            std::to_string(step_ + 1) + " (epoch " + std::to_string(epoch + 1) +
                            "); training stopped, " +
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
            const auto mixed =
                mixBatch(x, y, model_->config().num_classes, {o_.mixup, o_.cutmix, o_.label_smoothing}, rng);
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
    reportStep(epoch, lv, lr, stepImages, dt);
    syncSeconds_ = 0;
    return true;
}

// One step's event: to the observer and, on rank 0, to metrics.jsonl.
void Run::reportStep(int epoch, double lv, double lr, long long stepImages, double dt) {
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
        json sj{{"event", "step"},
                {"step", ev.step},
                {"epoch", epoch},
                {"loss", lv},
                {"lr", lr},
                {"images_per_s", ev.images_per_s},
                {"blocks", ev.blocks},
                {"lambda", ev.lambdas}};
        if (world() > 1) sj["sync_s"] = syncSeconds_, sj["step_s"] = dt;
        if (amp_ == "fp16") sj["loss_scale"] = scaler_.value();
        metrics_->write(sj.dump());
        if (obs_.onStep) obs_.onStep(ev);
    }
}

void Run::evaluateEpoch(int epoch, const EpochTrained& trained) {
    EvalResult ev;
    try {
        ev = evaluate(
            *model_, *testLoader_, device_, world() == 1 ? cancel_ : nullptr,
            [&](const Progress& p) {
                if (main() && obs_.progress) obs_.progress(p);
            },
            group_.get());
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
        metrics_->write(json{
            {"event", "epoch"},
            {"epoch", epoch},
            {"step", step_},
            {"train_loss", ee.train_loss},
            {"test_top1", ev.top1},
            {"test_top5", ev.top5},
            {"test_loss", ev.loss},
            {"test_images", ev.images},
            {"seconds", ee.seconds},
            {"images_per_s", ee.images_per_s},
            {"lambda", ee.lambdas},
            {"best",
             ee.best}}.dump());
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

}  // namespace dilute::train::detail
