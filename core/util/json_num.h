#pragma once
// Reading numbers out of JSON from outside (config.json, analysis.json, checkpoint manifests,
// safetensors headers, metrics lines) without undefined behaviour: nlohmann's get<int>() casts
// a double like 1e62 straight to int. These refuse a non-number, a fraction where a whole
// number is due and anything outside the target type, with the key named. They throw
// nlohmann::json exceptions, so each reader's existing handler adds the file name.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace dilute::jsonnum {

template <class T>
T asNumber(const nlohmann::json& v, const std::string& key) {
    using json = nlohmann::json;
    if (!v.is_number()) throw json::type_error::create(302, key + " must be a number, not " + v.dump(), nullptr);
    if constexpr (std::is_integral_v<T>) {
        constexpr int bits = std::numeric_limits<T>::digits;  // value bits (sign excluded)
        const double hi = std::ldexp(1.0, bits), lo = std::is_signed_v<T> ? -hi : 0.0;
        auto bad = [&] {
            return json::out_of_range::create(406, key + " = " + v.dump() + " is not a whole number in range", nullptr);
        };
        if (v.is_number_float()) {
            const double d = v.get<double>();
            if (!(d >= lo && d < hi) || d != std::floor(d)) throw bad();
            return static_cast<T>(d);
        }
        if (v.is_number_unsigned()) {
            const auto u = v.get<std::uint64_t>();
            if (static_cast<double>(u) >= hi) throw bad();
            return static_cast<T>(u);
        }
        const auto s = v.get<std::int64_t>();
        if (static_cast<double>(s) < lo || static_cast<double>(s) >= hi) throw bad();
        return static_cast<T>(s);
    } else {
        return v.get<T>();
    }
}

/// v as T, the key named when v is of another JSON type (booleans and strings too).
template <class T>
T as(const nlohmann::json& v, const std::string& key) {
    using json = nlohmann::json;
    if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean())
            throw json::type_error::create(302, key + " must be true or false, not " + v.dump(), nullptr);
        return v.get<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) throw json::type_error::create(302, key + " must be a string, not " + v.dump(), nullptr);
        return v.get<std::string>();
    } else {
        return asNumber<T>(v, key);
    }
}

/// obj[key] as T; throws when missing.
template <class T>
T at(const nlohmann::json& obj, const std::string& key) {
    return as<T>(obj.at(key), key);
}

/// obj[key] as T, or `def` when obj has no such key (or it is null).
template <class T>
T value(const nlohmann::json& obj, const std::string& key, T def) {
    if (!obj.is_object()) return def;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return def;
    return as<T>(*it, key);
}

/// obj[key] as an array of T.
template <class T>
std::vector<T> list(const nlohmann::json& obj, const std::string& key) {
    const auto& a = obj.at(key);
    if (!a.is_array()) throw nlohmann::json::type_error::create(302, key + " must be an array", nullptr);
    std::vector<T> out;
    out.reserve(a.size());
    for (const auto& v : a) out.push_back(as<T>(v, key));
    return out;
}

/// The text of a JSON library error without its "[json.exception.type_error.302] " id: what a
/// user reads after the file name.
std::string message(const nlohmann::json::exception& e);

/// Parses the JSON file at `path`; a missing file or a syntax error throws dilute::Error naming
/// the file and the problem.
nlohmann::json parseFile(const std::string& path);

/// " (did you mean 'lr'?)" for the candidate nearest to `key` (edit distance at most a third of
/// its length, and 2), else "".
std::string didYouMean(const std::string& key, const std::vector<std::string>& candidates);

/// For the files Dilute writes itself: refuses a key of `obj` that is not in `known`, naming the
/// file (`where`, and the object's place in it) and the nearest known key.
void requireKnownKeys(const nlohmann::json& obj, const std::vector<std::string>& known, const std::string& where);

}  // namespace dilute::jsonnum
