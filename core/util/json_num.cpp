#include "util/json_num.h"

#include <algorithm>

#include "util/error.h"
#include "util/files.h"

namespace dilute::jsonnum {

std::string message(const nlohmann::json::exception& e) {
    std::string m = e.what();
    if (m.rfind("[json.exception.", 0) == 0) {
        const size_t close = m.find("] ");
        if (close != std::string::npos) m = m.substr(close + 2);
    }
    return m;
}

nlohmann::json parseFile(const std::string& path) {
    try {
        return nlohmann::json::parse(fs::readText(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON (" + message(e) + ")");
    }
}

namespace {
size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}
}  // namespace

std::string didYouMean(const std::string& key, const std::vector<std::string>& candidates) {
    std::string best;
    size_t bestD = std::max<size_t>(2, key.size() / 3) + 1;
    for (const auto& c : candidates)
        if (const size_t d = editDistance(key, c); d < bestD) bestD = d, best = c;
    return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

void requireKnownKeys(const nlohmann::json& obj, const std::vector<std::string>& known, const std::string& where) {
    if (!obj.is_object()) return;
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            throw Error(where + ": unknown key '" + it.key() + "'" + didYouMean(it.key(), known));
}

}  // namespace dilute::jsonnum
