#include "io/summary.h"

#include <cstdio>

namespace dilute::io {

namespace {

std::string numbers(const std::vector<double>& v) {
    std::string s;
    char buf[32];
    for (size_t i = 0; i < v.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", v[i]);
        s += buf;
    }
    return s;
}

std::string classNames(const std::vector<std::string>& names) {
    const size_t shown = std::min<size_t>(names.size(), 5);
    std::string s;
    for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + names[i];
    if (shown < names.size()) s += ", ... (" + std::to_string(names.size()) + ")";
    return s;
}

}  // namespace

SummaryRows modelSummary(const model::ViTConfig& c, const ModelOrigin& origin) {
    SummaryRows rows;
    rows.emplace_back("format", origin.format + " (" + origin.layout + " layout)");
    rows.emplace_back("architecture", c.name + ": " + std::to_string(c.img_size) + " px, patch " +
                                          std::to_string(c.patch_size) + ", D=" + std::to_string(c.embed_dim) +
                                          ", depth " + std::to_string(c.depth) + ", " + std::to_string(c.num_heads) +
                                          " heads");
    rows.emplace_back("family", c.familyFlags());
    rows.emplace_back("classes", c.num_classes ? std::to_string(c.num_classes) : "none (a backbone without a head)");
    rows.emplace_back("preprocess", "resize " + std::to_string(c.eval_resize) + " " + c.interpolation +
                                        ", centre crop " + std::to_string(c.img_size) + ", mean " + numbers(c.mean) +
                                        ", std " + numbers(c.std));
    for (const auto& line : origin.mapping) rows.emplace_back("mapping", line);
    for (const auto& line : origin.adapted) rows.emplace_back("adapted", line);
    if (!origin.selection.empty()) {
        std::string blocks;
        for (int b : origin.selection) blocks += (blocks.empty() ? "" : ",") + std::to_string(b);
        rows.emplace_back("trained", "by a Dilute run that diluted blocks " + blocks);
    }
    if (!c.class_names.empty()) rows.emplace_back("class names", classNames(c.class_names));
    return rows;
}

}  // namespace dilute::io
