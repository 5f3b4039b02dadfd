#include "util/optiontable.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

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

}  // namespace dilute
