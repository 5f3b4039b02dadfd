#pragma once
// CLI11 bindings generated from a job's option table (util/optiontable.h): the workbench's forms
// come from the same tables, so the two cannot drift apart.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "util/optiontable.h"

namespace dilute::cli {

/// A range's end as a user reads it: whole numbers in full up to 1e15 (1000000000000), else %g.
inline std::string boundText(double v) {
    char buf[40];
    if (v < 1e15 && v > -1e15 && v == static_cast<double>(static_cast<long long>(v)))
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else
        std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

/// A CLI11 check that a value is a number (or, `whole`, a whole number), naming what it got.
inline std::function<std::string(std::string&)> numberCheck(bool whole) {
    return [whole](std::string& in) -> std::string {
        const std::string what = whole ? "a whole number" : "a number";
        if (in.empty()) return "'' is not " + what;
        char* end = nullptr;
        if (whole) {
            (void)std::strtoll(in.c_str(), &end, 10);
        } else {
            if (!std::isfinite(std::strtod(in.c_str(), &end))) return "'" + in + "' is not a finite number";
        }
        if (end == in.c_str() || *end != '\0') return "'" + in + "' is not " + what;
        return {};
    };
}

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
                    // The default as a user reads it: a special value by its meaning ("auto", not -1);
                    // recipe options print none ("default by recipe" is in their help).
                    bool special = false;
                    if constexpr (std::is_arithmetic_v<T>) special = !spec.special.empty() && double(*field) == spec.lo;
                    if constexpr (std::is_same_v<T, std::string>) special = !spec.special.empty() && field->empty();
                    if (special)
                        opt->default_str(spec.special);
                    else if (!spec.recipe)
                        opt->capture_default_str();
                    if constexpr (std::is_arithmetic_v<T>) {  // plain type names: "INT in [1, 100000]"
                        auto bound = [](double v) {           // a table's 1.8e19 is past uint64_t: its largest value
                            if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
                            if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
                            return static_cast<T>(v);
                        };
                        std::string type = std::is_integral_v<T> ? "INT" : "FLOAT";
                        if (spec.lo != spec.hi) {
                            type += " in [" + boundText(spec.lo) + ", " + boundText(spec.hi) + "]";
                            // A word or a fraction where a number or a whole number is due says so (CLI11's
                            // range check alone calls either "not in range").
                            opt->check(CLI::Validator(numberCheck(std::is_integral_v<T>), ""));
                            opt->check(CLI::Range(bound(spec.lo), bound(spec.hi)).description(""));
                        }
                        opt->type_name(type);
                    } else {
                        opt->type_name("TEXT");
                    }
                    if (!spec.choices.empty()) opt->check(CLI::IsMember(spec.choices));
                }
            },
            spec.field(o));
    }
}

/// The FILE of `SUBCOMMAND ... --config FILE` (or `--config=FILE`) when `subcommand` is the one on
/// the command line; "" otherwise. Read before the options are bound, so that the file's values
/// become the defaults the command line overrides.
inline std::string configArg(const std::vector<std::string>& argv, const std::string& subcommand) {
    if (argv.size() < 2 || argv[1] != subcommand) return {};
    for (size_t i = 2; i < argv.size(); ++i) {
        if (argv[i] == "--config" && i + 1 < argv.size()) return argv[i + 1];
        if (argv[i].rfind("--config=", 0) == 0) return argv[i].substr(9);
    }
    return {};
}

/// `--print-config`: print the options as JSON and exit; returns the flag's storage.
inline std::shared_ptr<bool> addPrintConfig(CLI::App& app) {
    auto flag = std::make_shared<bool>(false);
    app.add_flag("--print-config", *flag, "Print the options this job would use as JSON and exit");
    return flag;
}

}  // namespace dilute::cli
