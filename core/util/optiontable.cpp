#include "util/optiontable.h"

#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/json_num.h"

namespace dilute {

std::string fieldText(const OptionField& f) {
    return std::visit(
        [](auto* p) -> std::string {
            using T = std::remove_pointer_t<decltype(p)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return *p;
            } else if constexpr (std::is_same_v<T, bool>) {
                return *p ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
                char buf[40];
                for (int prec = 1; prec <= 17; ++prec) {  // the shortest text that reads back the same
                    std::snprintf(buf, sizeof buf, "%.*g", prec, *p);
                    if (std::strtod(buf, nullptr) == *p) break;
                }
                return buf;
            } else {
                return std::to_string(*p);
            }
        },
        f);
}

std::string fieldsJson(const std::vector<std::pair<std::string, OptionField>>& fields) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [name, f] : fields) std::visit([&, n = name](auto* p) { j[n] = *p; }, f);
    return j.dump(2);
}

namespace {

std::string didYouMean(const std::string& key, const std::vector<FieldRule>& fields) {
    std::vector<std::string> names;
    for (const auto& f : fields) names.push_back(f.name);
    return jsonnum::didYouMean(key, names);
}

// A range's end as written in the table: whole numbers in full (100000, not 1e+05).
std::string boundText(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
    return fieldText(&v);
}

// One value into its field: the JSON type (util/json_num.h), then the range and the choices.
void readField(const FieldRule& f, const nlohmann::json& v) {
    std::visit(
        [&](auto* p) {
            using T = std::remove_pointer_t<decltype(p)>;
            const T x = jsonnum::as<T>(v, f.name);
            if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
                if (f.lo != f.hi && !(double(x) >= f.lo && double(x) <= f.hi))
                    throw Error(f.name + " = " + v.dump() + " is outside [" + boundText(f.lo) + ", " + boundText(f.hi) +
                                "]");
            }
            if constexpr (std::is_same_v<T, std::string>) {
                if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), x) == f.choices.end()) {
                    std::string list;
                    for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
                    throw Error(f.name + " = " + v.dump() + ": expected one of " + list);
                }
            }
            *p = x;
        },
        f.field);
}

}  // namespace

std::string primaryFlag(const std::string& flags) {
    size_t start = 0;
    while (start <= flags.size()) {
        const size_t end = std::min(flags.find(',', start), flags.size());
        std::string f = flags.substr(start, end - start);
        if (!f.empty() && f[0] == '!') f.erase(0, 1);
        if (f.rfind("--", 0) == 0) return f;
        start = end + 1;
    }
    return flags;
}

void checkFields(const std::vector<FieldRule>& fields) {
    for (const auto& f : fields)
        std::visit(
            [&](auto* p) {
                using T = std::remove_pointer_t<decltype(p)>;
                if constexpr (std::is_floating_point_v<T>) {
                    if (!std::isfinite(*p)) throw Error(f.name + " " + fieldText(p) + ": expected a finite number");
                }
                if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
                    if (f.lo != f.hi && !(double(*p) >= f.lo && double(*p) <= f.hi))
                        throw Error(f.name + " " + fieldText(p) + " is outside [" + boundText(f.lo) + ", " +
                                    boundText(f.hi) + "]");
                }
                if constexpr (std::is_same_v<T, std::string>) {
                    if (!p->empty() && !f.choices.empty() &&
                        std::find(f.choices.begin(), f.choices.end(), *p) == f.choices.end()) {
                        std::string list;
                        for (const auto& c : f.choices) list += (list.empty() ? "" : ", ") + c;
                        throw Error(f.name + " '" + *p + "': expected one of " + list);
                    }
                }
            },
            f.field);
}

void readFieldsJson(const std::vector<FieldRule>& fields, const std::string& text, const std::string& source,
                    const std::vector<std::string>& extra, std::vector<std::string>* unknown) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": not valid JSON (" + jsonnum::message(e) + ")");
    }
    if (!j.is_object())
        throw Error(source + ": expected a JSON object of options, found " + std::string(j.type_name()));
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto f =
            std::find_if(fields.begin(), fields.end(), [&](const FieldRule& r) { return r.name == it.key(); });
        if (f == fields.end()) {
            if (std::find(extra.begin(), extra.end(), it.key()) != extra.end()) continue;
            if (!unknown) throw Error(source + ": unknown key '" + it.key() + "'" + didYouMean(it.key(), fields));
            unknown->push_back(it.key());
            continue;
        }
        try {
            readField(*f, it.value());
        } catch (const nlohmann::json::exception& e) {
            throw Error(source + ": " + jsonnum::message(e));
        } catch (const Error& e) {
            throw Error(source + ": " + e.what());
        }
    }
}

}  // namespace dilute
