// study.json, study.md and the CSV tables of `dilute study`; reading study.json back.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "experiment/study.h"
#include "util/error.h"
#include "util/files.h"
#include "util/json_num.h"
#include "util/numtext.h"

namespace dilute::experiment {
using json = nlohmann::json;

namespace {

json num(double v) { return numtext::orNull(v); }
double toNum(const json& j) { return numtext::orNan(j); }

using numtext::fixed;
std::string signedFmt(double v, int digits) {
    if (!std::isfinite(v)) return "";
    char b[64];
    std::snprintf(b, sizeof b, "%+.*f", digits, v);
    return b;
}
std::string blocksText(const std::vector<int>& b) {
    std::string s = "{";
    for (size_t i = 0; i < b.size(); ++i) s += (i ? ", " : "") + std::to_string(b[i]);
    return s + "}";
}
std::string csvNum(double v) { return numtext::csv(v); }
std::string armName(const StudyArm& a) {
    return a.selector == "random" ? "random (seed " + std::to_string(a.seed) + ")" : a.selector;
}
const char* describe(const std::string& selector) {
    if (selector == "nose") return "greedy min T(S), the paper";
    if (selector == "nose-abs") return "greedy min \\|T(S)\\|";
    if (selector == "lowest") return "K lowest attention entropy";
    if (selector == "first") return "the first K blocks";
    if (selector == "random") return "uniform, seeded";
    if (selector == "max-t") return "greedy max T(S): the worst by T, a control";
    if (selector == "min-t") return "exhaustive min T(S): the criterion's optimum";
    if (selector == "oracle") return "exhaustive best zero-shot top-1: the ceiling";
    return "";
}

}  // namespace

std::string studyToJson(const StudyResult& r) {
    json arms = json::array();
    for (const auto& a : r.arms)
        arms.push_back({{"selector", a.selector},
                        {"seed", a.seed},
                        {"blocks", a.blocks},
                        {"t", num(a.t)},
                        {"zero_shot_top1", num(a.zero_shot)},
                        {"finetuned_top1", num(a.finetuned)},
                        {"rank", a.rank},
                        {"percentile", num(a.percentile)},
                        {"run_dir", a.run_dir}});
    json subsets = json::array();
    for (const auto& s : r.subsets)
        subsets.push_back({{"blocks", s.blocks}, {"t", num(s.t)}, {"zero_shot_top1", num(s.zero_shot)}});
    json summary = json::array();
    for (const auto& s : summarize(r))
        summary.push_back({{"selector", s.selector},
                           {"arms", s.arms},
                           {"t_mean", num(s.t_mean)},
                           {"zero_shot_mean", num(s.zero_shot_mean)},
                           {"zero_shot_sd", num(s.zero_shot_sd)},
                           {"finetuned_mean", num(s.finetuned_mean)},
                           {"finetuned_sd", num(s.finetuned_sd)}});
    json j = {{"format", "dilute.study/1"},
              {"model", r.model},
              {"data", r.data},
              {"device", r.device},
              {"depth", r.depth},
              {"k", r.k},
              {"calibration_images", r.calib},
              {"calibration_order", r.calib_order},
              {"calibration_seed", r.calib_seed},
              {"output_kind", r.output},
              {"eval_split", r.eval_split},
              {"eval_images", r.eval_images},
              {"h_full", num(r.h_full)},
              {"full_top1", num(r.full_top1)},
              {"arms", arms},
              {"summary", summary},
              {"subsets_total", r.subsets_total},
              {"subsets", subsets},
              {"spearman_t_zero_shot", num(r.spearman_t_top1)},
              {"random_expected_zero_shot", num(r.random_expected)},
              {"finetune_epochs", r.finetune_epochs},
              {"control_finetuned_top1", num(r.control_finetuned)},
              {"notes", r.notes},
              {"seconds", r.seconds}};
    return j.dump(2);
}

std::string studyMarkdown(const StudyResult& r) {
    std::ostringstream md;
    md << "# Selection study: " << r.model << "\n\n"
       << "K = " << r.k << " of " << r.depth << " blocks. T(S) on " << r.calib << " " << r.data << " train images ("
       << r.calib_order << (r.calib_order == "stratified" ? ", seed " + std::to_string(r.calib_seed) : std::string())
       << ", H_out on the " << r.output << " feature: " << fixed(r.h_full, 2)
       << " nats); zero-shot top-1 (attention of S"
       << " skipped, no training) on " << r.eval_images << " " << r.eval_split << " images; full model "
       << fixed(r.full_top1, 2) << "%.\n\n";
    const bool ft = r.finetune_epochs > 0;
    md << "| selector | blocks (in the order chosen) | T(S) | zero-shot top-1 | vs full |"
       << (r.subsets.empty() ? "" : " rank of " + std::to_string(r.subsets.size()) + " |")
       << (ft ? " fine-tuned top-1 | vs control |" : "") << "\n|---|---|---:|---:|---:|"
       << (r.subsets.empty() ? "" : "---:|") << (ft ? "---:|---:|" : "") << "\n";
    for (const auto& a : r.arms) {
        md << "| " << armName(a) << " | " << blocksText(a.blocks) << " | " << fixed(a.t, 4) << " | "
           << fixed(a.zero_shot, 2) << " | " << signedFmt(a.zero_shot - r.full_top1, 2) << " |";
        if (!r.subsets.empty()) md << " " << a.rank << " (percentile " << fixed(a.percentile, 0) << ") |";
        if (ft) md << " " << fixed(a.finetuned, 2) << " | " << signedFmt(a.finetuned - r.control_finetuned, 2) << " |";
        md << "\n";
    }
    if (ft)
        md << "| control (nothing removed) | {} | | | |" << (r.subsets.empty() ? "" : " |") << " "
           << fixed(r.control_finetuned, 2) << " | |\n";
    md << "\nPer selector (mean +- sd over its arms; random: over seeds):\n\n"
       << "| selector | what it is | arms | mean T(S) | zero-shot top-1 |" << (ft ? " fine-tuned top-1 |" : "")
       << "\n|---|---|---:|---:|---:|" << (ft ? "---:|" : "") << "\n";
    for (const auto& s : summarize(r)) {
        md << "| " << s.selector << " | " << describe(s.selector) << " | " << s.arms << " | " << fixed(s.t_mean, 4)
           << " | " << fixed(s.zero_shot_mean, 2) << (s.arms > 1 ? " +- " + fixed(s.zero_shot_sd, 2) : std::string())
           << " |";
        if (ft)
            md << " " << fixed(s.finetuned_mean, 2)
               << (s.arms > 1 && std::isfinite(s.finetuned_sd) ? " +- " + fixed(s.finetuned_sd, 2) : std::string())
               << " |";
        md << "\n";
    }
    if (!r.subsets.empty()) {
        const StudyArm* nose = nullptr;
        for (const auto& a : r.arms)
            if (a.selector == "nose") nose = &a;
        md << "\nExhaustive sweep: all " << r.subsets.size() << " subsets of " << r.k
           << " blocks. Spearman correlation of"
           << " T(S) with zero-shot top-1: **" << fixed(r.spearman_t_top1, 3)
           << "** (negative: lower T, higher accuracy, as the"
           << " method assumes). A uniformly random subset scores " << fixed(r.random_expected, 2) << "% on average.";
        if (nose)
            md << " NOSE's subset ranks " << nose->rank << " of " << r.subsets.size() << " (percentile "
               << fixed(nose->percentile, 1) << "; 100 = the best subset, 0 = the worst).";
        md << "\n";
    }
    if (ft)
        md << "\nFine-tuned arms: " << r.finetune_epochs
           << " epoch(s) of dilution fine-tuning each from the same weights and"
           << " seed (runs under finetune/); the control has the same schedule with no block removed. Arms that chose "
              "the same"
           << " set share one run. Fine-tuned top-1 is on the whole test split.\n";
    for (const auto& n : r.notes) md << "\nNote: " << n << "\n";
    md << "\n" << fixed(r.seconds, 0) << " s on " << r.device << ".\n";
    return md.str();
}

void writeStudy(const std::string& dir, const StudyResult& r) {
    fs::ensureWritableDir(dir);
    std::ostringstream a, s;
    a << "selector,seed,blocks,t,zero_shot_top1,rank,percentile,finetuned_top1\n";
    for (const auto& x : r.arms) {
        std::string b;
        for (int i : x.blocks) b += (b.empty() ? "" : " ") + std::to_string(i);
        a << x.selector << "," << x.seed << "," << b << "," << csvNum(x.t) << "," << csvNum(x.zero_shot) << ","
          << (x.rank ? std::to_string(x.rank) : "") << "," << csvNum(x.percentile) << "," << csvNum(x.finetuned)
          << "\n";
    }
    s << "blocks,t,zero_shot_top1\n";
    for (const auto& x : r.subsets) {
        std::string b;
        for (int i : x.blocks) b += (b.empty() ? "" : " ") + std::to_string(i);
        s << b << "," << csvNum(x.t) << "," << csvNum(x.zero_shot) << "\n";
    }
    // Tables first, the JSON last: a folder with study.json is complete.
    fs::atomicWriteText(fs::join(dir, "arms.csv"), a.str());
    if (!r.subsets.empty()) fs::atomicWriteText(fs::join(dir, "subsets.csv"), s.str());
    fs::atomicWriteText(fs::join(dir, "study.md"), studyMarkdown(r));
    fs::atomicWriteText(fs::join(dir, "study.json"), studyToJson(r) + "\n");
}

namespace {
// study.json is ours: a key studyToJson does not write is refused, with the nearest name. The
// summary is not read (it is recomputed from the arms), so its rows are not checked.
void requireStudyKeys(const json& j, const std::string& path) {
    jsonnum::requireKnownKeys(j,
                              {"format",
                               "model",
                               "data",
                               "device",
                               "depth",
                               "k",
                               "calibration_images",
                               "calibration_order",
                               "calibration_seed",
                               "output_kind",
                               "eval_split",
                               "eval_images",
                               "h_full",
                               "full_top1",
                               "arms",
                               "summary",
                               "subsets_total",
                               "subsets",
                               "spearman_t_zero_shot",
                               "random_expected_zero_shot",
                               "finetune_epochs",
                               "control_finetuned_top1",
                               "notes",
                               "seconds"},
                              path);
    for (const auto& a : j.value("arms", json::array()))
        jsonnum::requireKnownKeys(
            a, {"selector", "seed", "blocks", "t", "zero_shot_top1", "finetuned_top1", "rank", "percentile", "run_dir"},
            path + ": arms");
    for (const auto& s : j.value("subsets", json::array()))
        jsonnum::requireKnownKeys(s, {"blocks", "t", "zero_shot_top1"}, path + ": subsets");
}
}  // namespace

StudyResult readStudy(const std::string& pathOrDir) {
    const std::string path = fs::isDirectory(pathOrDir) ? fs::join(pathOrDir, "study.json") : pathOrDir;
    const json j = jsonnum::parseFile(path);
    try {
        if (!j.is_object() || j.value("format", "") != "dilute.study/1")
            throw Error(path + ": not a Dilute study file");
        requireStudyKeys(j, path);
        StudyResult r;
        r.model = j.at("model");
        r.data = j.at("data");
        r.device = j.value("device", "");
        r.depth = jsonnum::at<int>(j, "depth");
        r.k = jsonnum::at<int>(j, "k");
        if (r.depth < 1 || r.depth > 4096 || r.k < 1 || r.k > r.depth)
            throw Error(path + ": depth " + std::to_string(r.depth) + " and K " + std::to_string(r.k) + " do not fit");
        r.calib = jsonnum::at<int>(j, "calibration_images");
        r.calib_order = j.value("calibration_order", "stratified");
        r.calib_seed = jsonnum::value<uint64_t>(j, "calibration_seed", 0);
        r.output = j.value("output_kind", "cls");
        r.eval_split = j.value("eval_split", "test");
        r.eval_images = jsonnum::at<long long>(j, "eval_images");
        r.h_full = toNum(j.at("h_full"));
        r.full_top1 = toNum(j.at("full_top1"));
        auto blocks = [&](const json& x) {
            auto b = jsonnum::list<int>(x, "blocks");
            for (int i : b)
                if (i < 0 || i >= r.depth) throw Error(path + ": block " + std::to_string(i) + " out of range");
            return b;
        };
        for (const auto& a : j.at("arms")) {
            StudyArm x;
            x.selector = a.at("selector");
            x.seed = jsonnum::value<uint64_t>(a, "seed", 0);
            x.blocks = blocks(a);
            x.t = toNum(a.at("t"));
            x.zero_shot = toNum(a.at("zero_shot_top1"));
            x.finetuned = toNum(a.value("finetuned_top1", json(nullptr)));
            x.rank = jsonnum::value<long long>(a, "rank", 0);
            x.percentile = toNum(a.value("percentile", json(nullptr)));
            x.run_dir = a.value("run_dir", "");
            r.arms.push_back(std::move(x));
        }
        r.subsets_total = jsonnum::value<long long>(j, "subsets_total", 0);
        const auto& subs = j.value("subsets", json::array());
        if (subs.size() > 10000000) throw Error(path + ": more than 10 million subsets");
        for (const auto& s : subs) {
            StudySubset x;
            x.blocks = blocks(s);
            x.t = toNum(s.at("t"));
            x.zero_shot = toNum(s.at("zero_shot_top1"));
            r.subsets.push_back(std::move(x));
        }
        r.spearman_t_top1 = toNum(j.value("spearman_t_zero_shot", json(nullptr)));
        r.random_expected = toNum(j.value("random_expected_zero_shot", json(nullptr)));
        r.finetune_epochs = jsonnum::value<int>(j, "finetune_epochs", 0);
        r.control_finetuned = toNum(j.value("control_finetuned_top1", json(nullptr)));
        for (const auto& n : j.value("notes", json::array())) r.notes.push_back(n.get<std::string>());
        r.seconds = j.value("seconds", 0.0);
        return r;
    } catch (const json::exception& e) {
        throw Error(path + ": incomplete study file (" + jsonnum::message(e) + ")");
    }
}

}  // namespace dilute::experiment
