#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/files.h"

namespace dilute::io {
using json = nlohmann::json;

namespace {

struct DtypeInfo {
    const char* name;
    torch::Dtype dtype;
    int size;
};
const DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat, 4}, {"F16", torch::kHalf, 2},  {"BF16", torch::kBFloat16, 2}, {"F64", torch::kDouble, 8},
    {"I64", torch::kLong, 8},  {"I32", torch::kInt, 4},   {"I16", torch::kShort, 2},     {"I8", torch::kChar, 1},
    {"U8", torch::kByte, 1},   {"BOOL", torch::kBool, 1},
};

const DtypeInfo* lookup(const std::string& n) {
    for (const auto& d : kDtypes)
        if (n == d.name) return &d;
    return nullptr;
}

class Mapping {
public:
    explicit Mapping(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // a FIFO must not block the open
        if (fd_ < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw Error(path + ": not a regular file");
        }
        size_ = static_cast<size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
            if (p == MAP_FAILED) {
                ::close(fd_);
                throw Error(path + ": cannot map file (" + std::strerror(errno) + ")");
            }
            data_ = static_cast<const uint8_t*>(p);
        }
    }
    ~Mapping() {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
        if (fd_ >= 0) ::close(fd_);
    }
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    int fd_ = -1;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace

const torch::Tensor* SafetensorsFile::find(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return &t;
    return nullptr;
}

std::string dtypeName(torch::Dtype t) {
    for (const auto& d : kDtypes)
        if (d.dtype == t) return d.name;
    throw Error(std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors");
}

namespace {

[[noreturn]] void invalid(const std::string& path, const std::string& why) {
    throw Error(path + ": not a valid safetensors file: " + why);
}

// One tensor's header entry, checked against the data section before anything is allocated.
struct Entry {
    std::string name;
    const DtypeInfo* dt = nullptr;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
};

std::vector<int64_t> parseShape(const std::string& path, const std::string& name, const json& e, int elementSize) {
    if (!e["shape"].is_array()) invalid(path, "tensor '" + name + "': shape is not an array");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : e["shape"]) {
        if (!d.is_number_unsigned())
            invalid(path, "tensor '" + name + "': shape has a negative or non-integer dimension");
        const uint64_t v = d.get<uint64_t>();
        // Overflow-safe: a product past the file's size cannot be right, whatever it wraps to.
        if (v > uint64_t(INT64_MAX) || (v != 0 && numel > uint64_t(INT64_MAX) / v))
            invalid(path, "tensor '" + name + "': shape's element count overflows");
        shape.push_back(int64_t(v));
        numel *= v;
    }
    if (numel > uint64_t(INT64_MAX) / elementSize) invalid(path, "tensor '" + name + "': shape's byte count overflows");
    return shape;
}

Entry parseEntry(const std::string& path, const std::string& name, const json& e, uint64_t dataSize) {
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
        invalid(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    if (!e["dtype"].is_string()) invalid(path, "tensor '" + name + "': dtype is not a string");
    Entry out;
    out.name = name;
    out.dt = lookup(e["dtype"].get<std::string>());
    if (!out.dt) invalid(path, "tensor '" + name + "': unsupported dtype '" + e["dtype"].get<std::string>() + "'");
    out.shape = parseShape(path, name, e, out.dt->size);
    uint64_t numel = 1;
    for (int64_t d : out.shape) numel *= uint64_t(d);
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        invalid(path, "tensor '" + name + "': data_offsets must be two non-negative integers");
    out.begin = off[0].get<uint64_t>();
    out.end = off[1].get<uint64_t>();
    if (out.begin > out.end) invalid(path, "tensor '" + name + "': data_offsets begin after they end");
    if (out.end > dataSize)
        invalid(path, "tensor '" + name + "': data ends at byte " + std::to_string(out.end) +
                          " but the file holds only " + std::to_string(dataSize) + " data bytes (truncated?)");
    if (out.end - out.begin != numel * out.dt->size)
        invalid(path, "tensor '" + name + "': " + std::to_string(out.end - out.begin) +
                          " bytes do not fit shape and dtype " + out.dt->name + " (" +
                          std::to_string(numel * out.dt->size) + " expected)");
    return out;
}

// As the format's reference implementation requires: the tensors (sorted by offset) cover the
// data section exactly, in order, with no overlap, no hole and nothing after the last one. Checked
// before any tensor is allocated, so overlapping entries cannot multiply the file's size in memory.
void checkCoverage(const std::string& path, const std::vector<Entry>& sorted, uint64_t dataSize) {
    uint64_t covered = 0;
    std::string prev = "the start of the data";
    for (const auto& e : sorted) {
        if (e.begin < covered) invalid(path, "tensors '" + prev + "' and '" + e.name + "' overlap");
        if (e.begin > covered)
            invalid(path, "bytes " + std::to_string(covered) + ".." + std::to_string(e.begin) + " between " +
                              (prev == "the start of the data" ? prev : "'" + prev + "'") + " and '" + e.name +
                              "' belong to no tensor (a hole)");
        covered = e.end;
        prev = e.name;
    }
    if (covered != dataSize)
        invalid(path, std::to_string(dataSize - covered) + " trailing bytes after the last tensor belong to no tensor");
}

json parseHeader(const std::string& path, const Mapping& map, uint64_t& hlen) {
    if (map.size() < 8)
        invalid(path, "file is " + std::to_string(map.size()) + " bytes, shorter than the 8-byte header length");
    hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | map.data()[i];
    if (hlen > map.size() - 8)
        invalid(path, "header claims " + std::to_string(hlen) + " bytes but only " + std::to_string(map.size() - 8) +
                          " follow");
    json header;
    try {
        header = json::parse(map.data() + 8, map.data() + 8 + hlen);
    } catch (const std::exception& e) {
        invalid(path, std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) invalid(path, "header is not a JSON object");
    return header;
}

}  // namespace

SafetensorsFile readSafetensors(const std::string& path) {
    Mapping map(path);
    uint64_t hlen = 0;
    const json header = parseHeader(path, map, hlen);
    const size_t dataStart = 8 + hlen;
    const size_t dataSize = map.size() - dataStart;
    SafetensorsFile out;
    std::vector<Entry> entries;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() != "__metadata__") {
            entries.push_back(parseEntry(path, it.key(), *it, dataSize));
            continue;
        }
        if (!it->is_object()) invalid(path, "__metadata__ is not an object");
        for (auto m = it->begin(); m != it->end(); ++m) {
            if (!m->is_string()) invalid(path, "__metadata__ value '" + m.key() + "' is not a string");
            out.metadata[m.key()] = m->get<std::string>();
        }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& c) {
        return a.begin != c.begin ? a.begin < c.begin : a.end < c.end;
    });
    checkCoverage(path, entries, dataSize);
    for (const auto& e : entries) {  // in file order, for callers
        auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dt->dtype));
        if (e.end > e.begin) std::memcpy(t.data_ptr(), map.data() + dataStart + e.begin, e.end - e.begin);
        out.tensors.emplace_back(e.name, std::move(t));
    }
    return out;
}

void writeSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, torch::Dtype dtype) {
    std::vector<torch::Tensor> prepared;
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        if (name == "__metadata__") throw Error(path + ": a tensor may not be called __metadata__");
        auto c = t.detach().to(torch::kCPU).to(t.is_floating_point() ? dtype : t.scalar_type()).contiguous();
        const uint64_t bytes = c.numel() * c.element_size();
        header[name] = {{"dtype", dtypeName(c.scalar_type())},
                        {"shape", c.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        prepared.push_back(c);
    }
    std::string h = header.dump();
    while ((8 + h.size()) % 8) h.push_back(' ');
    fs::atomicWrite(path, [&](const std::string& tmp) {
        FILE* f = std::fopen(tmp.c_str(), "wb");
        if (!f) throw Error(path + ": cannot open for writing (" + std::strerror(errno) + ")");
        uint8_t len[8];
        uint64_t n = h.size();
        for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
        bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
        for (const auto& c : prepared) {
            const size_t bytes = c.numel() * c.element_size();
            if (ok && bytes) ok = std::fwrite(c.data_ptr(), 1, bytes, f) == bytes;
        }
        ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
        const int err = errno;
        std::fclose(f);
        if (!ok) throw Error(path + ": write failed (" + std::strerror(err) + ")");
    });
}

}  // namespace dilute::io
