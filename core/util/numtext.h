#pragma once
// Numbers in result files: NaN/inf as JSON null and back, and as an empty CSV or table cell.
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <string>

namespace dilute::numtext {

inline nlohmann::json orNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
inline double orNan(const nlohmann::json& j) { return j.is_null() ? NAN : j.get<double>(); }
/// 10 significant digits; "" for NaN or infinity.
inline std::string csv(double v) {
    if (!std::isfinite(v)) return "";
    std::ostringstream ss;
    ss.precision(10);
    ss << v;
    return ss.str();
}

/// `digits` decimals ("87.43"); "" for NaN or infinity (a cell left empty).
inline std::string fixed(double v, int digits) {
    if (!std::isfinite(v)) return "";
    std::ostringstream ss;
    ss.setf(std::ios::fixed);
    ss.precision(digits);
    ss << v;
    return ss.str();
}

}  // namespace dilute::numtext
