#pragma once
// CLI11 bindings generated from a job's option table (util/optiontable.h): the workbench's forms
// come from the same tables, so the two cannot drift apart.
#include <CLI/CLI.hpp>

#include <memory>
#include <type_traits>
#include <variant>

#include "util/optiontable.h"

namespace dilute::cli {

template <class O>
void bindOptions(CLI::App& app, const std::vector<OptionSpec<O>>& table, O& o) {
    for (const auto& spec : table) {
        std::visit(
            [&](auto* field) {
                using T = std::remove_pointer_t<decltype(field)>;
                if constexpr (std::is_same_v<T, bool>) {
                    app.add_flag(spec.flags, *field, spec.help);
                } else {
                    auto* opt = app.add_option(spec.flags, *field, spec.help);
                    if (!spec.recipe) opt->capture_default_str();  // recipe options: "default by preset"
                    if (spec.lo != spec.hi) opt->check(CLI::Range(spec.lo, spec.hi));
                    if (!spec.choices.empty()) opt->check(CLI::IsMember(spec.choices));
                }
            },
            spec.field(o));
    }
}

/// `--print-config`: print the options as JSON and exit; returns the flag's storage.
inline std::shared_ptr<bool> addPrintConfig(CLI::App& app) {
    auto flag = std::make_shared<bool>(false);
    app.add_flag("--print-config", *flag, "Print the options this job would use as JSON and exit");
    return flag;
}

}  // namespace dilute::cli
