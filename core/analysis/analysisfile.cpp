// analysis.json and its CSV tables (entropy, heads, transfer, pairwise, trace): written
// atomically, read back with every key and number checked (the selection a run starts from).
#include <nlohmann/json.hpp>

#include <sstream>

#include "analysis/job.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"
#include "util/numtext.h"

namespace dilute::analysis {
using json = nlohmann::json;

namespace {

json num(double v) { return numtext::orNull(v); }
json vec(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(num(x));
    return a;
}
json mat(const std::vector<std::vector<double>>& m) {
    json a = json::array();
    for (const auto& row : m) a.push_back(vec(row));
    return a;
}
double toNum(const json& j) { return numtext::orNan(j); }
std::vector<double> toVec(const json& j) {
    std::vector<double> v;
    for (const auto& x : j) v.push_back(toNum(x));
    return v;
}
std::vector<std::vector<double>> toMat(const json& j) {
    std::vector<std::vector<double>> m;
    for (const auto& r : j) m.push_back(toVec(r));
    return m;
}
std::string csvNum(double v) { return numtext::csv(v); }

}  // namespace

std::string analysisToJson(const AnalysisResult& r) {
    const auto& p = r.profile;
    json trace = json::array();
    for (const auto& st : r.selection.trace)
        trace.push_back(
            {{"candidates", st.candidates}, {"t", vec(st.t)}, {"chosen", st.chosen}, {"t_chosen", num(st.t_chosen)}});
    json interaction = json::array();
    for (size_t i = 0; i < r.pairwise.size(); ++i) {
        json row = json::array();
        for (size_t j = 0; j < r.pairwise.size(); ++j)
            row.push_back(i == j ? json(nullptr) : num(r.pairwise[i][j] - r.t_single[i] - r.t_single[j]));
        interaction.push_back(row);
    }
    json j = {{"format", "dilute.analysis/1"},
              {"model", r.model},
              {"data", r.data},
              {"split", r.split},
              {"calibration_images", r.calib},
              {"calibration_order", r.calib_order},
              {"calibration_seed", r.calib_seed},
              {"calibration_per_class", r.calib_per_class},
              {"entropy_units", "nats (Gaussian differential entropy, sum over channels)"},
              {"depth", p.depth},
              {"heads", p.heads},
              {"embed_dim", p.embed_dim},
              {"head_dim", p.head_dim},
              {"attn_entropy", vec(p.attn)},
              {"head_entropy", mat(p.head)},
              {"mlp_entropy", vec(p.mlp)},
              {"output_entropy", num(p.output)},
              {"output_kind", p.output_kind},
              {"floored_channels", p.floored_channels},
              {"transfer_entropy", vec(r.t_single)},
              {"pairwise_transfer_entropy", mat(r.pairwise)},
              {"pairwise_interaction", interaction},
              {"selection",
               {{"selector", r.selection.selector},
                {"blocks", r.selection.blocks},
                {"t_final", num(r.selection.t_final)},
                {"trace", trace}}},
              {"evaluations", r.evaluations},
              {"seconds", r.seconds}};
    return j.dump(2);
}

void writeAnalysis(const std::string& dir, const AnalysisResult& r) {
    fs::ensureWritableDir(dir);
    const auto& p = r.profile;
    std::ostringstream e, h, t, pw, tr;
    e << "block,attn_entropy,mlp_entropy,transfer_entropy,selected\n";
    for (int l = 0; l < p.depth; ++l) {
        const bool sel = std::find(r.selection.blocks.begin(), r.selection.blocks.end(), l) != r.selection.blocks.end();
        e << l << "," << csvNum(p.attn[l]) << "," << csvNum(p.mlp[l]) << ","
          << csvNum(l < int(r.t_single.size()) ? r.t_single[l] : NAN) << "," << (sel ? 1 : 0) << "\n";
    }
    h << "block";
    for (int k = 0; k < p.heads; ++k) h << ",head_" << k;
    h << "\n";
    for (int l = 0; l < p.depth; ++l) {
        h << l;
        for (double v : p.head[l]) h << "," << csvNum(v);
        h << "\n";
    }
    pw << "block";
    for (size_t j = 0; j < r.pairwise.size(); ++j) pw << ",b" << j;
    pw << "\n";
    for (size_t i = 0; i < r.pairwise.size(); ++i) {
        pw << i;
        for (double v : r.pairwise[i]) pw << "," << csvNum(v);
        pw << "\n";
    }
    tr << "step,candidate,t,chosen\n";
    for (size_t s = 0; s < r.selection.trace.size(); ++s) {
        const auto& st = r.selection.trace[s];
        for (size_t c = 0; c < st.candidates.size(); ++c)
            tr << s << "," << st.candidates[c] << "," << csvNum(st.t[c]) << "," << (st.candidates[c] == st.chosen)
               << "\n";
    }
    // Tables first, the JSON last: a folder with analysis.json is complete.
    fs::atomicWriteText(fs::join(dir, "entropy.csv"), e.str());
    fs::atomicWriteText(fs::join(dir, "heads.csv"), h.str());
    if (!r.pairwise.empty()) fs::atomicWriteText(fs::join(dir, "pairwise.csv"), pw.str());
    if (!r.selection.trace.empty()) fs::atomicWriteText(fs::join(dir, "trace.csv"), tr.str());
    fs::atomicWriteText(fs::join(dir, "analysis.json"), analysisToJson(r) + "\n");
}

namespace {
// analysis.json is ours: a key analysisToJson does not write is refused, with the nearest name.
void requireAnalysisKeys(const json& j, const std::string& path) {
    jsonnum::requireKnownKeys(j,
                              {"format",
                               "model",
                               "data",
                               "split",
                               "calibration_images",
                               "calibration_order",
                               "calibration_seed",
                               "calibration_per_class",
                               "entropy_units",
                               "depth",
                               "heads",
                               "embed_dim",
                               "head_dim",
                               "attn_entropy",
                               "head_entropy",
                               "mlp_entropy",
                               "output_entropy",
                               "output_kind",
                               "floored_channels",
                               "transfer_entropy",
                               "pairwise_transfer_entropy",
                               "pairwise_interaction",
                               "selection",
                               "evaluations",
                               "seconds"},
                              path);
    if (!j.contains("selection")) return;
    jsonnum::requireKnownKeys(j["selection"], {"selector", "blocks", "t_final", "trace"}, path + ": selection");
    if (j["selection"].contains("trace") && j["selection"]["trace"].is_array())
        for (const auto& st : j["selection"]["trace"])
            jsonnum::requireKnownKeys(st, {"candidates", "t", "chosen", "t_chosen"}, path + ": selection.trace");
}
}  // namespace

AnalysisResult readAnalysis(const std::string& pathOrDir) {
    const std::string path = fs::isDirectory(pathOrDir) ? fs::join(pathOrDir, "analysis.json") : pathOrDir;
    const json j = jsonnum::parseFile(path);
    try {
        if (j.value("format", "") != "dilute.analysis/1") throw Error(path + ": not a Dilute analysis file");
        requireAnalysisKeys(j, path);
        AnalysisResult r;
        r.model = j.at("model");
        r.data = j.at("data");
        r.split = j.value("split", "train");
        r.calib = jsonnum::at<int>(j, "calibration_images");
        r.calib_order = j.value("calibration_order", "first");  // files from before stratified sampling
        if (r.calib_order != "first" && r.calib_order != "stratified")
            throw Error(path + ": unknown calibration order");
        r.calib_seed = jsonnum::value<uint64_t>(j, "calibration_seed", 0);
        if (j.contains("calibration_per_class")) r.calib_per_class = jsonnum::list<size_t>(j, "calibration_per_class");
        auto& p = r.profile;
        p.depth = jsonnum::at<int>(j, "depth");
        p.heads = jsonnum::at<int>(j, "heads");
        p.embed_dim = jsonnum::value<int>(j, "embed_dim", 0);
        p.head_dim = jsonnum::value<int>(j, "head_dim", 0);
        p.attn = toVec(j.at("attn_entropy"));
        p.head = toMat(j.at("head_entropy"));
        p.mlp = toVec(j.at("mlp_entropy"));
        p.output = toNum(j.at("output_entropy"));
        p.output_kind = j.value("output_kind", "cls");
        p.floored_channels = jsonnum::value<int>(j, "floored_channels", 0);
        r.t_single = toVec(j.at("transfer_entropy"));
        r.pairwise = toMat(j.value("pairwise_transfer_entropy", json::array()));
        const auto& s = j.at("selection");
        r.selection.selector = s.at("selector");
        r.selection.blocks = jsonnum::list<int>(s, "blocks");
        r.selection.t_final = toNum(s.value("t_final", json(nullptr)));
        for (const auto& st : s.value("trace", json::array())) {
            SelectionStep x;
            x.candidates = jsonnum::list<int>(st, "candidates");
            x.t = toVec(st.at("t"));
            x.chosen = jsonnum::at<int>(st, "chosen");
            x.t_chosen = toNum(st.at("t_chosen"));
            r.selection.trace.push_back(x);
        }
        r.evaluations = jsonnum::value<int>(j, "evaluations", 0);
        r.seconds = j.value("seconds", 0.0);
        if (int(p.attn.size()) != p.depth || int(p.mlp.size()) != p.depth)
            throw Error(path + ": entropy tables do not match the depth");
        for (int b : r.selection.blocks)
            if (b < 0 || b >= p.depth) throw Error(path + ": selected block " + std::to_string(b) + " out of range");
        return r;
    } catch (const json::exception& e) {
        throw Error(path + ": incomplete analysis file (" + jsonnum::message(e) + ")");
    }
}

}  // namespace dilute::analysis
