#include "util/blocklist.h"

#include <algorithm>
#include <sstream>

#include "util/error.h"

namespace dilute {

std::vector<int> parseBlockList(const std::string& text, int depth) {
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        size_t used = 0;
        int v = -1;
        try {
            v = std::stoi(item, &used);
        } catch (...) {
            used = 0;
        }
        if (used != item.size()) throw Error("block list '" + text + "': '" + item + "' is not a block index");
        if (v < 0 || v >= depth)
            throw Error("block list '" + text + "': block " + item + " out of range [0, " + std::to_string(depth) +
                        ")");
        if (std::find(out.begin(), out.end(), v) != out.end())
            throw Error("block list '" + text + "': block " + item + " listed twice");
        out.push_back(v);
    }
    return out;
}

}  // namespace dilute
