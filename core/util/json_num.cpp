#include "util/json_num.h"

#include "util/error.h"
#include "util/files.h"

namespace dilute::jsonnum {

nlohmann::json parseFile(const std::string& path) {
    try {
        return nlohmann::json::parse(fs::readText(path));
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON (" + e.what() + ")");
    }
}

}  // namespace dilute::jsonnum
