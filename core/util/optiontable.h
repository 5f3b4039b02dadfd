#pragma once
// One definition of a job's options: name (JSON key, GUI object name), CLI flags, help, GUI
// label and group, range, choices, whether a recipe sets it, and why the GUI form leaves it out
// (if it does), what its lowest value means. The CLI's bindings (app/cli/options.h), the
// workbench's forms (widgets/optionform.h), --print-config and the JSON readers below are
// generated from these tables, one per job (each job's `<folder>/optiontable.h`, named by its
// Job declaration: util/job.h), and the model options the jobs share (io/modelref.h). No LibTorch
// and no Qt here.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace dilute {

// size_t fields (image limits) are uint64_t on the 64-bit platforms Dilute targets.
static_assert(std::is_same_v<size_t, uint64_t>, "size_t options are stored as uint64_t");
using OptionField = std::variant<int*, long long*, uint64_t*, double*, bool*, std::string*>;

template <class O>
struct OptionSpec {
    std::string name;       // JSON key (config.json, --print-config); the GUI editor's objectName
    std::string flags;      // CLI11 names, e.g. "--epochs,-e"; "!--per-epoch" is a flag that clears the field
    std::string label;      // GUI label
    std::string help;       // CLI help and GUI tooltip
    std::string group;      // GUI section
    double lo = 0, hi = 0;  // numeric range (lo == hi: none)
    std::vector<std::string> choices;  // text options with a fixed set
    bool recipe = false;               // a recipe decides it unless given (CLI prints no default)
    std::string cliOnly;               // why the generated GUI form does not show it ("" = it does)
    std::function<OptionField(O&)> field;
    std::string special;  // what the lowest value means, shown in its place ("inferred"; "" = itself)
};

template <class O, class T>
std::function<OptionField(O&)> memberField(T O::*m) {
    return [m](O& o) -> OptionField { return &(o.*m); };
}

template <class O>
const OptionSpec<O>* findOption(const std::vector<OptionSpec<O>>& table, const std::string& name) {
    for (const auto& s : table)
        if (s.name == name) return &s;
    return nullptr;
}

/// The field's value as text: numbers in the shortest form that reads back the same.
std::string fieldText(const OptionField& f);
/// {"name": value, ...} in table order, values typed (numbers, true/false, strings).
std::string fieldsJson(const std::vector<std::pair<std::string, OptionField>>& fields);

template <class O>
std::string optionText(const OptionSpec<O>& s, const O& o) {
    O copy = o;
    return fieldText(s.field(copy));
}

/// Every option of the table with its value in `o`, as one JSON object (`--print-config`).
template <class O>
std::string optionsJson(const std::vector<OptionSpec<O>>& table, const O& o) {
    O copy = o;
    std::vector<std::pair<std::string, OptionField>> fields;
    for (const auto& s : table) fields.emplace_back(s.name, s.field(copy));
    return fieldsJson(fields);
}

/// One option as a JSON reader checks it: its field in the struct being read, range, choices.
struct FieldRule {
    std::string name;
    OptionField field;
    double lo = 0, hi = 0;
    std::vector<std::string> choices;
};
/// Reads the JSON object `text` through `fields`: each key naming an option sets its field,
/// checked as the command line checks it (its JSON type, whole numbers for whole fields, the
/// range, the choices). A key in `extra` is the caller's; any other key is refused with the
/// nearest option name ("did you mean 'lr'?"), or listed in `unknown` when that is given (files
/// we do not own). Throws dilute::Error prefixed by `source`, naming the key, what was expected
/// and what was found.
void readFieldsJson(const std::vector<FieldRule>& fields, const std::string& text, const std::string& source,
                    const std::vector<std::string>& extra = {}, std::vector<std::string>* unknown = nullptr);

/// Checks the values already in `fields` as the readers check what they read: each number within
/// its range (and a floating-point one finite), each text among its choices (an empty text is
/// "not given"). `name` is what the message calls the option. Throws dilute::Error:
/// "--seeds 2000 is outside [0, 1000]", "--exhaustive 'maybe': expected one of auto, on, off".
void checkFields(const std::vector<FieldRule>& fields);

/// The option's flag as the user types it: "--model" for "input,--model,-m", "--no-fold" for
/// "!--no-fold".
std::string primaryFlag(const std::string& flags);

/// checkFields over a job's option table: the one range and choice check of options set by code
/// (a job's run function, the workbench), named by their flags. Cross-field rules stay in the job.
template <class O>
void validateOptions(const std::vector<OptionSpec<O>>& table, const O& o) {
    O copy = o;
    std::vector<FieldRule> fields;
    for (const auto& s : table) fields.push_back({primaryFlag(s.flags), s.field(copy), s.lo, s.hi, s.choices});
    checkFields(fields);
}

/// readFieldsJson over a job's option table, into `o`.
template <class O>
void optionsFromJson(const std::vector<OptionSpec<O>>& table, const std::string& text, O& o, const std::string& source,
                     const std::vector<std::string>& extra = {}, std::vector<std::string>* unknown = nullptr) {
    std::vector<FieldRule> fields;
    for (const auto& s : table) fields.push_back({s.name, s.field(o), s.lo, s.hi, s.choices});
    readFieldsJson(fields, text, source, extra, unknown);
}

/// The options of a part of a larger options struct (e.g. the bench options inside the
/// export-and-measure job), reached through `part`; names and flags stay as they are.
template <class O, class P>
std::vector<OptionSpec<O>> liftOptions(const std::vector<OptionSpec<P>>& table, P O::*part) {
    std::vector<OptionSpec<O>> out;
    for (const auto& s : table) {
        OptionSpec<O> t{s.name, s.flags,   s.label,  s.help,    s.group, s.lo,
                        s.hi,   s.choices, s.recipe, s.cliOnly, {},      s.special};
        t.field = [f = s.field, part](O& o) { return f(o.*part); };
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace dilute
