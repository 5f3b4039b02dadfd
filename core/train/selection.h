#pragma once
// Resolves a selection spec: "" | "0,2,4" | "nose:K" | "nose-abs:K" | "random:K" | "lowest:K" |
// "first:K" | a path to analysis.json (or its folder).
#include <functional>
#include <string>

#include "analysis/results.h"
#include "model/vit.h"
#include "util/cancel.h"

namespace dilute::train {

struct SelectionRequest {
    std::string spec;
    std::string data;  // dataset URI for on-the-spot selectors
    int calib = 2048;
    uint64_t seed = 0;
    std::string device = "cpu";
    int workers = 2;
    std::string save_dir;  // where an on-the-spot analysis is written ("" = not saved)
};

analysis::Selection resolveSelection(model::VisionTransformerImpl& m, const SelectionRequest& req,
                                     const std::function<void(const Progress&)>& progress = {},
                                     const CancelToken* cancel = nullptr);

}  // namespace dilute::train
