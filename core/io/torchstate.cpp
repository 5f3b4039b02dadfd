// The state dict inside a torch.save file: a bare one, or one entry of a training checkpoint.
#include <torch/torch.h>

#include "io/torchfile.h"
#include "util/error.h"

namespace dilute::io {
using pickle::Kind;
using pickle::ValuePtr;

namespace {
bool isStateDict(const ValuePtr& v) {
    if (!v || v->kind != Kind::Dict || v->items.empty()) return false;
    size_t tensors = 0;
    for (size_t i = 0; i + 1 < v->items.size(); i += 2) tensors += v->items[i + 1]->kind == Kind::Tensor;
    return tensors > 0 && tensors * 2 >= v->items.size() / 2;  // mostly tensors
}

std::string keyText(const ValuePtr& k) {
    if (k->kind == Kind::String) return k->s;
    if (k->kind == Kind::Int) return std::to_string(k->i);
    return "?";
}
}  // namespace

TorchStateDict readTorchStateDict(const std::string& path, const std::string& key) {
    TorchFile file(path);
    const auto& root = file.root();
    if (!root || root->kind != Kind::Dict)
        throw Error(path + ": holds no dictionary of tensors (a pickled model object or a bare tensor?)");
    TorchStateDict out;
    out.format = file.format();
    ValuePtr sd;
    if (!key.empty()) {
        sd = pickle::dictGet(root, key);
        if (!sd) {
            std::string have;
            for (const auto& k : pickle::dictKeys(root)) have += (have.empty() ? "" : ", ") + k;
            throw Error(path + ": has no entry '" + key + "' (--weights-key); it holds: " + have);
        }
        if (!isStateDict(sd)) throw Error(path + ": entry '" + key + "' is not a dictionary of tensors");
        out.entry = key;
    } else if (isStateDict(root)) {
        sd = root;
    } else {
        for (const char* k : {"model", "state_dict", "model_ema", "state_dict_ema", "module"}) {
            auto v = pickle::dictGet(root, k);
            if (isStateDict(v)) {
                sd = v;
                out.entry = k;
                break;
            }
        }
        if (!sd) {
            std::string have;
            for (const auto& k : pickle::dictKeys(root)) have += (have.empty() ? "" : ", ") + k;
            throw Error(path +
                        ": no weights found (no entry model, state_dict, model_ema or state_dict_ema holds "
                        "tensors; the file holds: " +
                        (have.empty() ? std::string("nothing named") : have) + "); name the entry with --weights-key");
        }
    }
    if (!out.entry.empty())
        for (const auto& k : pickle::dictKeys(root))
            if (k != out.entry) out.others.push_back(k);
    bool all_module = true;
    for (size_t i = 0; i + 1 < sd->items.size(); i += 2) {
        const auto name = keyText(sd->items[i]);
        if (sd->items[i + 1]->kind != Kind::Tensor) {
            out.skipped.push_back(name);
            continue;
        }
        all_module = all_module && name.rfind("module.", 0) == 0;
        out.tensors.emplace_back(name, file.tensor(sd->items[i + 1]->tensor));
    }
    if (all_module && !out.tensors.empty())  // saved from a DistributedDataParallel wrapper
        for (auto& [name, t] : out.tensors) name = name.substr(7);
    return out;
}

}  // namespace dilute::io
