#pragma once
// Files written by torch.save (`.pth`, `.pt`, `.bin`): the zip format (PyTorch >= 1.6; read with
// LibTorch's own zip container reader) and the legacy format (one stream of pickles followed by
// the raw storages). The pickles go through the restricted unpickler (io/pickle.h): nothing in
// the file is run. Tensors are read on demand, each bounds-checked against its storage and the
// storage against the file before a byte is allocated.
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/pickle.h"

namespace dilute::io {

class TorchFile {
public:
    /// Opens and unpickles `path`; throws dilute::Error naming the file.
    explicit TorchFile(const std::string& path);
    ~TorchFile();
    const std::string& path() const { return path_; }
    /// "pytorch zip" or "pytorch legacy".
    const std::string& format() const { return format_; }
    const pickle::ValuePtr& root() const { return root_; }
    /// Reads the tensor (contiguous, its own dtype); throws when it lies outside its storage.
    torch::Tensor tensor(const pickle::TensorRef& t);

private:
    struct Where {
        uint64_t offset = 0, bytes = 0;
    };
    void openZip();
    void openLegacy();
    pickle::PersistentLoad storageLoader();
    Where storageBytes(const pickle::StorageRef& s);
    std::string path_, format_;
    uint64_t file_size_ = 0;
    pickle::ValuePtr root_;
    std::map<std::string, Where> legacy_;             // legacy: where each storage's data starts
    std::map<std::string, pickle::StorageRef> seen_;  // storages the pickle named
    std::map<std::string, torch::Tensor> cache_;      // storages read so far (bytes)
    uint64_t cached_bytes_ = 0;
    struct Zip;
    std::unique_ptr<Zip> zip_;
};

/// A state dict found in a torch file: the tensors of the chosen entry (timm names not yet mapped),
/// which entry it was, and what else the file held (listed, never read).
struct TorchStateDict {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    std::string format;                // TorchFile::format()
    std::string entry;                 // "" for a bare state dict, else "model", "state_dict", ...
    std::vector<std::string> others;   // the file's other top-level entries ("optimizer", "args", ...)
    std::vector<std::string> skipped;  // entries of the state dict that are not tensors
};
/// The weights of `path`: a bare state dict, or the entry `key` (default: the first of model,
/// state_dict, model_ema, state_dict_ema, module present). DDP's `module.` prefix is removed.
TorchStateDict readTorchStateDict(const std::string& path, const std::string& key = "");

}  // namespace dilute::io
