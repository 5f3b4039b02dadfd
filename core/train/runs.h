#pragma once
// The runs under a folder, summarised for comparison (the workbench's Runs panel): each run
// folder's status, model, selection, accuracy and dates, from its config.json and metrics.jsonl.
#include <string>
#include <vector>

#include "train/metrics.h"

namespace dilute::train {

struct RunSummary {
    std::string path;         // the run folder
    std::string name;         // its path relative to the root
    std::string status;       // running | finished | cancelled | failed | interrupted (no end event, idle)
    std::string model;        // config "model" (preset or weights file name)
    std::string selector;     // resolved selector ("manual", "nose", "random", ...; "none" for a baseline)
    std::vector<int> blocks;  // blocks diluted
    int epochs = 0;           // of the run
    int epochs_done = 0;      // epoch events logged
    double best_top1 = -1;    // best test top-1 over the epochs (-1: none yet)
    double final_top1 = -1;   // test top-1 of the last epoch (-1: none yet)
    long long steps = 0;      // last step logged
    int world_size = 1;
    std::string created;    // config "created" (ISO 8601, UTC)
    long long updated = 0;  // metrics.jsonl modification time (seconds since the epoch)
    std::string message;    // why it failed, from the end event
};

/// Summarises one run folder (throws dilute::Error naming it when it has no readable config.json).
/// A run with no end event whose metrics changed within `idleSeconds` is "running", else
/// "interrupted" (killed, or a cluster job that ran out of time: resume it).
RunSummary summarizeRun(const std::string& dir, const std::string& name = {}, long long idleSeconds = 600);
/// Every run folder (a folder holding config.json) at most two levels below `root`, sorted by
/// name; unreadable folders are skipped. `root` itself counts when it is a run folder.
std::vector<RunSummary> listRuns(const std::string& root, long long idleSeconds = 600);

/// The curves of one run for plotting: per step (loss, mean lambda of the diluted blocks) and per
/// epoch (test top-1), read from its metrics.jsonl.
struct RunCurves {
    std::vector<double> step, loss, lambda;
    std::vector<double> epoch, top1;
};
RunCurves readRunCurves(const std::string& dir);

}  // namespace dilute::train
