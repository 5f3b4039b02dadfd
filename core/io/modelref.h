#pragma once
// Which model a job opens, and how: the five options every job that takes a model shares
// (eval, info, analyze, train, study, bench), declared once here. A job's options struct
// derives from ModelRef and its option table lists modelRefOptions<ItsOptions>() where these
// belong; the workbench's Project panel holds them. No LibTorch here.
#include <string>
#include <type_traits>
#include <vector>

#include "util/optiontable.h"

namespace dilute::io {

struct ModelRef {
    std::string model;        // preset, or a file / folder io/source.h reads
    std::string arch;         // a preset to start from for weights without a description
    std::string weights_key;  // torch checkpoints: the entry holding the weights
    int heads = 0;            // attention heads, when neither a config nor a standard width says
    int img_size = 0;         // build the model at this resolution (0: the model's own)
};

/// Throws dilute::Error naming the option when a value is out of its range.
void validateModelRef(const ModelRef& r);

/// The table of ModelRef's options, in display order.
const std::vector<OptionSpec<ModelRef>>& modelRefOptionTable();

/// The same options for a job whose options struct O derives from ModelRef.
template <class O>
std::vector<OptionSpec<O>> modelRefOptions() {
    static_assert(std::is_base_of_v<ModelRef, O>, "the job's options derive from io::ModelRef");
    std::vector<OptionSpec<O>> out;
    for (const auto& s : modelRefOptionTable()) {
        OptionSpec<O> t{s.name, s.flags,   s.label,  s.help,    s.group, s.lo,
                        s.hi,   s.choices, s.recipe, s.cliOnly, {},      s.special};
        t.field = [f = s.field](O& o) { return f(static_cast<ModelRef&>(o)); };
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace dilute::io
