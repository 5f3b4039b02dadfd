#include "train/optiontable.h"

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <limits>

#include "model/preset.h"

namespace dilute::train {

void applyPresetDefaults(TrainOptions& o, const std::string& preset) {
    if (!model::isPreset(preset)) return;
    const auto c = model::preset(preset);
    if (c.img_size >= 64) {  // DeiT recipe (SPEC section 6), scaled to the batch
        o.batch = 64;
        o.lr = 5e-4 * o.batch / 512.0;
        o.epochs = 30;
        o.warmup_epochs = 5;
        o.mixup = 0.8;
        o.cutmix = 1.0;
    } else {  // small presets: short runs on 28x28 / 32x32 data
        o.batch = 128;
        o.lr = 2e-3;
        o.epochs = 10;
        o.warmup_epochs = 1;
        o.drop_path = 0.05;
        o.label_smoothing = 0.1;
    }
}

namespace {

template <class T>
std::function<OptionField(TrainOptions&)> f(T TrainOptions::*m) {
    return memberField(m);
}

std::vector<OptionSpec> build() {
    constexpr double big = 1e12;
    std::vector<OptionSpec> t;
    auto add = [&](OptionSpec s) { t.push_back(std::move(s)); };
    // What to train and where: the Project panel and the Training view's own fields hold these.
    add({"model", "--model,-m", "Model", "Preset (train from scratch) or safetensors file (fine-tune)", "Run", 0, 0, {}, false,
         "the Project panel's model", f(&TrainOptions::model)});
    add({"arch", "--arch", "Architecture", "Preset describing a timm file without Dilute metadata", "Run", 0, 0, {}, false,
         "a file's own metadata describes it; timm files without it are opened from the Project panel with a preset name",
         f(&TrainOptions::arch)});
    add({"data", "--data,-d", "Data", "Dataset URI (default: the preset's own)", "Run", 0, 0, {}, false,
         "the Project panel's data", f(&TrainOptions::data)});
    add({"out_dir", "--out,-o", "Run folder", "Run folder (config.json, metrics.jsonl, checkpoints/, final.safetensors)",
         "Run", 0, 0, {}, false, "the Training view's run folder field (the next free name is proposed)",
         f(&TrainOptions::out_dir)});
    add({"select", "--select,-s", "Dilute blocks",
         "Blocks to dilute: 0,2,4 | nose:K | nose-abs:K | random:K | lowest:K | first:K | analysis.json", "Run", 0, 0,
         {}, false, "the selection made on the Analysis view", f(&TrainOptions::select)});
    // Schedule
    add({"epochs", "--epochs,-e", "Epochs", "Epochs (default by preset)", "Schedule", 1, 100000, {}, true, "",
         f(&TrainOptions::epochs)});
    add({"batch", "--batch,-b", "Batch", "Batch size per process (default by preset); global batch = batch x processes",
         "Schedule", 1, 65536, {}, true, "", f(&TrainOptions::batch)});
    add({"lr", "--lr", "Peak lr", "Peak learning rate, AdamW (default by preset)", "Schedule", 1e-8, 10, {}, true, "",
         f(&TrainOptions::lr)});
    add({"min_lr", "--min-lr", "Final lr", "Final learning rate of the cosine schedule", "Schedule", 0, 10, {}, false, "",
         f(&TrainOptions::min_lr)});
    add({"warmup_epochs", "--warmup", "Warm-up epochs", "Linear warm-up, epochs (default by preset)", "Schedule", 0, 100000,
         {}, true, "", f(&TrainOptions::warmup_epochs)});
    // Dilution
    add({"decay_shape", "--decay", "Lambda decay", "Lambda decay shape: linear | cosine", "Dilution", 0, 0,
         {"linear", "cosine"}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.shape; }});
    add({"decay_unit", "--decay-unit", "Decay unit", "Unit of --decay-start/--decay-end: epochs | steps", "Dilution", 0,
         0, {"epochs", "steps"}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.unit; }});
    add({"decay_start", "--decay-start", "Decay starts at", "Lambda stays 1 until here", "Dilution", 0, big, {}, false,
         "", [](TrainOptions& o) -> OptionField { return &o.schedule.start; }});
    add({"decay_end", "--decay-end", "Lambda = 0 at", "Lambda reaches 0 here (-1: 3/4 of the run)", "Dilution", -1, big,
         {}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.end; }});
    add({"per_step", "!--per-epoch", "Lambda every step",
         "Update lambda at epoch boundaries only (the authors' code)",
         "Dilution", 0, 0, {}, false, "", [](TrainOptions& o) -> OptionField { return &o.schedule.per_step; }});
    add({"calib", "--calib", "Calibration images", "Calibration images for an on-the-spot selector", "Dilution", 1,
         10000000, {}, false, "the Analysis view selects the blocks (with its own calibration set)",
         f(&TrainOptions::calib)});
    // Optimizer and regularization
    add({"weight_decay", "--weight-decay", "Weight decay",
         "AdamW weight decay (not on norms, biases, pos_embed, cls_token)", "Optimizer", 0, 10, {}, false, "",
         f(&TrainOptions::weight_decay)});
    add({"clip_grad", "--clip-grad", "Clip gradient norm", "Max gradient norm (0 = off)", "Optimizer", 0, big, {}, false,
         "", f(&TrainOptions::clip_grad)});
    add({"label_smoothing", "--label-smoothing", "Label smoothing", "Label smoothing", "Regularization", 0, 0.999, {},
         false, "", f(&TrainOptions::label_smoothing)});
    add({"mixup", "--mixup", "Mixup alpha", "Mixup alpha (0 = off)", "Regularization", 0, 100, {}, true, "",
         f(&TrainOptions::mixup)});
    add({"cutmix", "--cutmix", "CutMix alpha", "CutMix alpha (0 = off)", "Regularization", 0, 100, {}, true, "",
         f(&TrainOptions::cutmix)});
    add({"drop_path", "--drop-path", "Drop-path rate", "Stochastic depth rate (default by preset)", "Regularization", 0,
         0.999, {}, true, "", f(&TrainOptions::drop_path)});
    add({"augment", "--augment", "Augmentation", "none | flip | rrc+flip | default", "Regularization", 0, 0,
         {"default", "none", "flip", "rrc+flip"}, false, "", f(&TrainOptions::augment)});
    // Data
    add({"train_limit", "--train-limit", "Training images", "Use only the first N training images (0 = all)", "Data", 0,
         big, {}, false, "", f(&TrainOptions::train_limit)});
    add({"test_limit", "--test-limit", "Test images", "Evaluate on the first N test images (0 = all)", "Data", 0, big, {},
         false, "", f(&TrainOptions::test_limit)});
    add({"seed", "--seed", "Seed", "Seed (data order, init, augmentation, drop-path)", "Data", 0, 4294967295.0, {},
         false, "", f(&TrainOptions::seed)});
    // System
    add({"device", "--device", "Device", "auto | cpu | cuda | cuda:N", "System", 0, 0, {}, false,
         "the Project panel's device", f(&TrainOptions::device)});
    add({"amp", "--amp", "Mixed precision", "auto | off | bf16 | fp16 (CUDA only)", "System", 0, 0,
         {"auto", "off", "bf16", "fp16"}, false, "", f(&TrainOptions::amp)});
    add({"workers", "--workers", "Loader threads", "Loader threads", "System", 0, 256, {}, false, "",
         f(&TrainOptions::workers)});
    add({"dist_timeout", "--dist-timeout", "Collective timeout (s)",
         "Seconds a data-parallel process waits for the others (rendezvous, collectives)", "System", 1, 86400, {}, false,
         "", f(&TrainOptions::dist_timeout)});
    add({"overwrite", "--overwrite", "Overwrite", "Replace the run already in --out (it is removed first; never mixed)",
         "Run", 0, 0, {}, false, "the workbench never replaces a run: it proposes the next free folder",
         f(&TrainOptions::overwrite)});
    add({"stop_at_step", "--stop-at-step", "Stop at step",
         "Stop cleanly after this many global steps (checkpoint written); continue with --resume", "Run", -1, big, {},
         false, "for time-boxed cluster jobs; the workbench's Cancel stops at any step", f(&TrainOptions::stop_at_step)});
    return t;
}

}  // namespace

const std::vector<OptionSpec>& trainOptionTable() {
    static const std::vector<OptionSpec> table = build();
    return table;
}

const OptionSpec* findTrainOption(const std::string& name) { return findOption(trainOptionTable(), name); }

void applyRecipe(TrainOptions& o, const std::string& model, const std::function<bool(const OptionSpec&)>& given) {
    TrainOptions d;
    applyPresetDefaults(d, model);
    for (const auto& s : trainOptionTable()) {
        if (!s.recipe || given(s)) continue;
        std::visit([](auto* dst, auto* src) {
            using A = std::remove_pointer_t<decltype(dst)>;
            using B = std::remove_pointer_t<decltype(src)>;
            if constexpr (std::is_same_v<A, B>) *dst = *src;
        }, s.field(o), s.field(d));
    }
}

}  // namespace dilute::train
