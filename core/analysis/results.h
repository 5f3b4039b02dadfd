#pragma once
// Plain result values of an analysis (no tensors): what the CLI writes and the GUI draws.
#include <cmath>
#include <string>
#include <vector>

namespace dilute::analysis {

struct EntropyProfile {
    int depth = 0, heads = 0;
    int embed_dim = 0, head_dim = 0;        // channels per branch / per head
    std::vector<double> attn;               // per block, NaN where the attention is removed
    std::vector<std::vector<double>> head;  // [block][head], before proj
    std::vector<double> mlp;                // per block
    double output = 0;                      // H_out of the full model
    std::string output_kind = "cls";        // cls | logits
    int floored_channels = 0;               // channels whose sigma hit the floor
};

struct SelectionStep {
    std::vector<int> candidates;
    std::vector<double> t;  // T(S + {candidate}) per candidate
    int chosen = -1;
    double t_chosen = 0;
};

struct Selection {
    std::string selector;     // nose | nose-abs | random | lowest | first | manual
    std::vector<int> blocks;  // in the order chosen
    std::vector<SelectionStep> trace;
    double t_final = NAN;  // T(blocks) when known
};

struct AnalysisResult {
    std::string model, data, split;
    int calib = 0;
    std::string calib_order = "first";  // how the calibration images were chosen
    uint64_t calib_seed = 0;
    std::vector<size_t> calib_per_class;  // images taken per class (stratified samples)
    EntropyProfile profile;
    std::vector<double> t_single;               // T({i}); NaN for removed blocks
    std::vector<std::vector<double>> pairwise;  // T({i,j}), diagonal T({i}); empty if not asked
    Selection selection;
    int evaluations = 0;  // suffix evaluations spent
    double seconds = 0;
};

}  // namespace dilute::analysis
