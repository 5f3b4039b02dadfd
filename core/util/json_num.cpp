#include "util/json_num.h"

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

}  // namespace dilute::jsonnum
