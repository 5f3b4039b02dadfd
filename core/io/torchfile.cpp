#include "io/torchfile.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>
#include <new>

#include <algorithm>
#include <fstream>

#include "util/error.h"
#include "util/files.h"

namespace dilute::io {
using pickle::Kind;
using pickle::ValuePtr;

struct TorchFile::Zip {
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
};

namespace {
const char kLegacyMagic[] = "long:\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

// A storage named by a persistent id: ('storage', storage class, key, location, numel[, view]).
pickle::StorageRef storageOf(const ValuePtr& pid, const std::string& path) {
    const auto& a = pid->items;
    if (pid->kind != Kind::Tuple || a.size() < 5 || a[0]->kind != Kind::String || a[0]->s != "storage" ||
        a[1]->kind != Kind::Global || a[2]->kind != Kind::String || a[4]->kind != Kind::Int)
        throw Error(path + ": malformed storage reference in the pickle");
    pickle::StorageRef s;
    s.dtype = pickle::storageDtype(a[1]->s);
    if (s.dtype.empty()) throw Error(path + ": storage type '" + a[1]->s + "' is not supported");
    s.key = a[2]->s;
    s.numel = a[4]->i;
    if (s.numel < 0 || s.numel > (int64_t(1) << 40))
        throw Error(path + ": storage " + s.key + " has an implausible size");
    if (a.size() >= 6 && a[5]->kind == Kind::Tuple) throw Error(path + ": legacy storage views are not supported");
    return s;
}

std::vector<uint8_t> readRange(const std::string& path, uint64_t offset, uint64_t bytes) {
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> buf(bytes);
    f.seekg(static_cast<std::streamoff>(offset));
    if (!f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(bytes)))
        throw Error(path + ": file is truncated (storage data missing)");
    return buf;
}
uint64_t le(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// The central directory's word on `data.pkl` (method, uncompressed size), read before LibTorch's
// reader allocates that size: a stored record cannot be larger than the file, a compressed one
// not larger than the memory limit. Zip64 sizes are read from the entry's extra field. Throws
// naming the file; returns quietly when the directory cannot be found (LibTorch then refuses it).
void checkPickleRecord(const std::string& path, uint64_t fileSize) {
    const uint64_t tail = std::min<uint64_t>(fileSize, 65557);
    const auto end = readRange(path, fileSize - tail, tail);
    size_t eocd = std::string::npos;
    for (size_t i = end.size() >= 22 ? end.size() - 22 + 1 : 0; i-- > 0;)
        if (le(&end[i], 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) return;
    uint64_t cdOffset = le(&end[eocd + 16], 4), cdSize = le(&end[eocd + 12], 4);
    if (cdOffset == 0xFFFFFFFFu && eocd >= 20 && le(&end[eocd - 20], 4) == 0x07064b50) {  // zip64
        const uint64_t at = le(&end[eocd - 20 + 8], 8);
        if (at + 56 > fileSize) throw Error(path + ": the zip64 directory record lies outside the file");
        const auto z = readRange(path, at, 56);
        cdSize = le(&z[40], 8);
        cdOffset = le(&z[48], 8);
    }
    if (cdOffset > fileSize || cdSize > fileSize - cdOffset)
        throw Error(path + ": the zip directory lies outside the file");
    const auto cd = readRange(path, cdOffset, cdSize);
    for (size_t at = 0; at + 46 <= cd.size() && le(&cd[at], 4) == 0x02014b50;) {
        const size_t nameLen = le(&cd[at + 28], 2), extraLen = le(&cd[at + 30], 2), commentLen = le(&cd[at + 32], 2);
        if (at + 46 + nameLen + extraLen > cd.size())
            throw Error(path + ": a zip directory entry runs past the directory");
        const std::string name(cd.begin() + at + 46, cd.begin() + at + 46 + nameLen);
        if (name == "data.pkl" || (name.size() > 9 && name.compare(name.size() - 9, 9, "/data.pkl") == 0)) {
            const uint64_t method = le(&cd[at + 10], 2);
            uint64_t size = le(&cd[at + 24], 4);
            for (size_t e = at + 46 + nameLen; size == 0xFFFFFFFFu && e + 12 <= at + 46 + nameLen + extraLen;) {
                const size_t id = le(&cd[e], 2), len = le(&cd[e + 2], 2);
                if (id == 1) size = le(&cd[e + 4], 8);
                e += 4 + len;
            }
            const uint64_t bound = method == 0 ? fileSize : fs::memoryLimitBytes();
            if (size > bound)
                throw Error(path + ": data.pkl claims " + std::to_string(size) + " bytes, more than the " +
                            (method == 0 ? "file holds (" : "memory limit (") + std::to_string(bound) +
                            "): a corrupt or hostile zip directory");
            return;
        }
        at += 46 + nameLen + extraLen + commentLen;
    }
}

}  // namespace

TorchFile::TorchFile(const std::string& path) : path_(path) {
    if (!fs::exists(path)) throw Error(path + ": no such file");
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw Error(path + ": cannot open");
    file_size_ = static_cast<uint64_t>(f.tellg());
    char sig[4] = {};
    f.seekg(0);
    f.read(sig, 4);
    if (file_size_ >= 4 && sig[0] == 'P' && sig[1] == 'K' && sig[2] == 3 && sig[3] == 4)
        openZip();
    else if (file_size_ >= 2 && uint8_t(sig[0]) == 0x80)
        openLegacy();
    else
        throw Error(path + ": not a PyTorch file (neither a zip archive nor a pickle)");
}

TorchFile::~TorchFile() = default;

// Both formats name storages by persistent id; each becomes a Storage value, remembered by key.
pickle::PersistentLoad TorchFile::storageLoader() {
    return [this](const ValuePtr& pid) {
        auto s = storageOf(pid, path_);
        seen_[s.key] = s;
        auto v = std::make_shared<pickle::Value>();
        v->kind = Kind::Storage;
        v->storage = s;
        return v;
    };
}

void TorchFile::openZip() {
    format_ = "pytorch zip";
    zip_ = std::make_unique<Zip>();
    std::tuple<at::DataPtr, size_t> rec;
    try {
        checkPickleRecord(path_, file_size_);
        zip_->reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path_);
        if (!zip_->reader->hasRecord("data.pkl"))
            throw Error(path_ + ": zip archive without data.pkl (not a torch.save file)");
        rec = zip_->reader->getRecord("data.pkl");
    } catch (const c10::Error& e) {
        const std::string w = e.what_without_backtrace();
        throw Error(path_ + ": not a readable PyTorch zip archive (" + w.substr(0, w.find('\n')) + ")");
    } catch (const std::bad_alloc&) {  // a directory entry that claims an impossible size
        throw Error(path_ + ": data.pkl claims more memory than there is (a corrupt or hostile zip directory)");
    }
    const auto* data = static_cast<const uint8_t*>(std::get<0>(rec).get());
    root_ = pickle::load(data, std::get<1>(rec), path_, storageLoader());
}

void TorchFile::openLegacy() {
    format_ = "pytorch legacy";
    const auto bytes = fs::readBytes(path_);
    size_t at = 0, used = 0;
    auto next = [&](const pickle::PersistentLoad& pl) {
        auto v = pickle::load(bytes.data() + at, bytes.size() - at, path_, pl, &used);
        at += used;
        return v;
    };
    const auto magic = next(nullptr);
    if (magic->kind != Kind::Opaque || magic->s != std::string(kLegacyMagic, sizeof kLegacyMagic - 1))
        throw Error(path_ + ": a pickle, but not a PyTorch file (no torch.save magic number)");
    next(nullptr);  // protocol version
    next(nullptr);  // sys info
    root_ = next(storageLoader());
    const auto keys = next(nullptr);
    if (keys->kind != Kind::List) throw Error(path_ + ": malformed storage list");
    for (const auto& k : keys->items) {
        if (k->kind != Kind::String || !seen_.count(k->s))
            throw Error(path_ + ": storage list names an unknown storage");
        const auto& s = seen_[k->s];
        if (bytes.size() - at < 8) throw Error(path_ + ": file is truncated (storage " + k->s + ")");
        uint64_t n = 0;
        for (int i = 0; i < 8; ++i) n |= uint64_t(bytes[at + i]) << (8 * i);
        const uint64_t need = n * pickle::dtypeBytes(s.dtype);
        if (n != uint64_t(s.numel) || need > bytes.size() - at - 8)
            throw Error(path_ + ": file is truncated or corrupt (storage " + k->s + ")");
        legacy_[k->s] = {at + 8, need};
        at += 8 + need;
    }
}

TorchFile::Where TorchFile::storageBytes(const pickle::StorageRef& s) {
    const uint64_t need = uint64_t(s.numel) * pickle::dtypeBytes(s.dtype);
    if (!zip_) {
        auto it = legacy_.find(s.key);
        if (it == legacy_.end()) throw Error(path_ + ": storage " + s.key + " is missing from the file");
        return it->second;
    }
    const std::string rec = "data/" + s.key;
    uint64_t off = 0;
    try {  // LibTorch's zip reader checks each record's header: a damaged one is its error, named here
        if (!zip_->reader->hasRecord(rec)) throw Error(path_ + ": storage " + s.key + " is missing from the archive");
        off = zip_->reader->getRecordOffset(rec);
    } catch (const c10::Error& e) {
        const std::string w = e.what_without_backtrace();
        throw Error(path_ + ": corrupt zip archive: storage " + s.key + " (" + w.substr(0, w.find('\n')) + ")");
    }
    if (off > file_size_ || need > file_size_ - off)
        throw Error(path_ + ": storage " + s.key + " runs past the end of the file");
    return {off, need};
}

torch::Tensor TorchFile::tensor(const pickle::TensorRef& t) {
    const auto& s = t.storage;
    const int eb = pickle::dtypeBytes(s.dtype);
    int64_t last = t.offset, numel = 1;
    if (t.size.size() != t.stride.size() || t.size.size() > 16)
        throw Error(path_ + ": a tensor with " + std::to_string(t.size.size()) + " sizes and " +
                    std::to_string(t.stride.size()) + " strides (corrupt or lying file)");
    for (size_t i = 0; i < t.size.size(); ++i) {
        if (t.size[i] < 0 || t.stride[i] < 0 || t.size[i] > (int64_t(1) << 40) || t.stride[i] > (int64_t(1) << 40))
            throw Error(path_ + ": tensor with an implausible shape");
        numel *= t.size[i];
        if (numel > (int64_t(1) << 40)) throw Error(path_ + ": tensor with an implausible shape");
        if (t.size[i] > 0) last += (t.size[i] - 1) * t.stride[i];
    }
    if (t.offset < 0 || (numel > 0 && last >= s.numel))
        throw Error(path_ + ": a tensor lies outside its storage " + s.key + " (corrupt or lying file)");
    auto it = cache_.find(s.key);
    if (it == cache_.end()) {
        const auto w = storageBytes(s);
        if (cached_bytes_ + w.bytes > fs::memoryLimitBytes())
            throw Error(path_ + ": the weights would not fit in the memory limit");
        auto buf = readRange(path_, w.offset, w.bytes);
        auto bt = torch::from_blob(buf.data(), {int64_t(buf.size())}, torch::kUInt8).clone();
        cached_bytes_ += w.bytes;
        it = cache_.emplace(s.key, bt).first;
    }
    static const std::map<std::string, torch::Dtype> types{
        {"F32", torch::kFloat}, {"F16", torch::kHalf}, {"BF16", torch::kBFloat16}, {"F64", torch::kDouble},
        {"I64", torch::kLong},  {"I32", torch::kInt},  {"I16", torch::kShort},     {"I8", torch::kChar},
        {"U8", torch::kByte},   {"BOOL", torch::kBool}};
    if (uint64_t(it->second.numel()) < uint64_t(s.numel) * uint64_t(eb))
        throw Error(path_ + ": storage " + s.key +
                    " is named twice with different sizes or types (corrupt or lying file)");
    try {  // checked above; LibTorch's own checks, should one still fail, are this file's error too
        auto typed = it->second.numel() ? it->second.view(types.at(s.dtype)) : torch::empty({0}, types.at(s.dtype));
        return typed.as_strided(t.size, t.stride, t.offset).contiguous().clone();
    } catch (const c10::Error& e) {
        const std::string w = e.what_without_backtrace();
        throw Error(path_ + ": a tensor of storage " + s.key + " does not fit it (" + w.substr(0, w.find('\n')) + ")");
    }
}

}  // namespace dilute::io
