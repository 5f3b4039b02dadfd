#pragma once
// A restricted unpickler for the files torch.save writes (zip and legacy formats). It executes
// nothing: every GLOBAL is checked against a fixed list. Tensor rebuilds and plain containers
// become values; a few harmless classes found in training checkpoints (argparse.Namespace, numpy
// scalars, torch.device ...) become opaque values; any other global is refused, naming it.
// Bounded: values, memo entries and nesting are limited, and every read stays inside the buffer.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dilute::io::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

enum class Kind { None, Bool, Int, Float, String, List, Tuple, Dict, Global, Opaque, Storage, Tensor, Mark };

struct StorageRef {
    std::string key;          // the archive's storage name ("0", "1", ... or the legacy root key)
    std::string dtype;        // F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL
    int64_t numel = 0;        // elements of the whole storage
    int64_t view_offset = 0;  // legacy storage views: elements into the root storage
};

struct TensorRef {
    StorageRef storage;
    int64_t offset = 0;  // elements into the storage
    std::vector<int64_t> size, stride;
};

struct Value {
    Kind kind = Kind::None;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;                // String, Global ("module.name"), Opaque (its class or callable)
    std::vector<ValuePtr> items;  // List / Tuple elements; Dict as key, value, key, value ...
    StorageRef storage;           // Storage
    TensorRef tensor;             // Tensor
    int depth = 0;                // nesting (containers)
};

/// Maps a persistent id (BINPERSID) to a Storage value; throws dilute::Error when it is malformed.
using PersistentLoad = std::function<ValuePtr(const ValuePtr& pid)>;

/// Unpickles `data`; `source` names the file in errors. Throws dilute::Error (one line).
ValuePtr load(const uint8_t* data, size_t size, const std::string& source, const PersistentLoad& persistent,
              size_t* consumed = nullptr);

/// Bytes per element of a storage dtype name (0 when unknown).
int dtypeBytes(const std::string& dtype);
/// The dtype name of a storage class ("torch.FloatStorage" -> "F32"), "" when it is not one.
std::string storageDtype(const std::string& global);

/// Dict lookup by string key (nullptr when absent or `dict` is not a Dict).
ValuePtr dictGet(const ValuePtr& dict, const std::string& key);
/// A Dict's string keys in order.
std::vector<std::string> dictKeys(const ValuePtr& dict);

}  // namespace dilute::io::pickle
