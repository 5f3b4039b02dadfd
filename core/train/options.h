#pragma once
// Training options: one struct filled by the CLI and the GUI alike, saved as config.json.
#include <cstdint>
#include <string>

#include "io/modelref.h"
#include "train/schedule.h"

namespace dilute::train {

// The model (a preset trains from scratch, anything else is fine-tuned) and how it is opened:
// io::ModelRef. A model whose class count differs from the data's gets a new head.
struct TrainOptions : io::ModelRef {
    std::string data;     // dataset URI ("" = the preset's default)
    std::string out_dir;  // run folder
    int epochs = 10;
    int batch = 128;                // per process (torch DDP semantics); global = batch x processes
    int global_batch = 0;           // fixed when a run starts (0 = batch x processes); kept on resume
    int dist_timeout = 1800;        // seconds a collective may wait for the other processes
    bool allow_shared_gpu = false;  // more local processes than GPUs: they share (over Gloo)
    double lr = 1e-3;               // peak learning rate (AdamW)
    double min_lr = 1e-5;
    double weight_decay = 0.05;
    double warmup_epochs = 1.0;
    double label_smoothing = 0.1;
    double mixup = 0.0;   // Beta(alpha, alpha); 0 = off
    double cutmix = 0.0;  // Beta(alpha, alpha); 0 = off
    double drop_path = 0.1;
    double clip_grad = 0.0;           // max gradient norm; 0 = off
    std::string augment = "default";  // none | flip | rrc+flip | rrc+flip+erase | deit | default (by preset)
    uint64_t seed = 0;
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    std::string amp = "auto";     // auto (bf16 on CUDA, off on CPU) | off | bf16 | fp16
    int workers = 2;
    size_t train_limit = 0;  // first N training images (0 = all)
    size_t test_limit = 0;   // first N test images (0 = all)
    // Dilution
    std::string recipe;  // the recipe the defaults came from (train/optiontable.h; informational)
    std::string select;  // "" | "0,2,4" | "nose:K" | "random:K" | ... | analysis.json path
    int calib = 2048;    // calibration images for an on-the-spot selector
    DilutionSchedule schedule;
    // Test hook: make the loss NaN at this global step (-1 = never).
    long long inject_nan_step = -1;
    // Stop cleanly once this many global steps are done (checkpoint written, as on Ctrl-C), to
    // train in time-boxed pieces (cluster time limits). Not saved in config.json. -1 = never.
    long long stop_at_step = -1;
    // A fresh run refuses a folder that already holds anything; with overwrite, an old run there
    // (config.json / metrics.jsonl / checkpoints) is removed first, so two runs never mix.
    // Not saved in config.json.
    bool overwrite = false;

    std::string toJson() const;
    /// Options from a JSON object (config.json, --config): checked against the option table,
    /// an unknown key refused with the nearest name. Throws dilute::Error prefixed by `source`.
    static TrainOptions fromJson(const std::string& json, const std::string& source = "training config");
    void validate() const;
};

}  // namespace dilute::train
