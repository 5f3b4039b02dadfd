#include "util/files.h"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace dilute::fs {
namespace stdfs = std::filesystem;

void atomicWrite(const std::string& path, const std::function<void(const std::string&)>& writer) {
    static std::atomic<int> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    try {
        writer(tmp);
    } catch (...) {
        std::error_code ec;
        stdfs::remove(tmp, ec);
        throw;
    }
    struct stat st {};
    if (::lstat(tmp.c_str(), &st) != 0) {
        const int err = errno;
        throw Error(path + ": the temporary file " + tmp + " was not written (" + std::strerror(err) + ")");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;  // before remove() can change it
        std::error_code ec;
        stdfs::remove(tmp, ec);
        throw Error(path + ": cannot replace file (" + std::strerror(err) +
                    (err == EISDIR ? ": a folder has that name" : "") + ")");
    }
}

static void writeAll(const std::string& tmp, const void* data, size_t size, const std::string& shown) {
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(shown + ": cannot open for writing (" + std::strerror(errno) + ")");
    const size_t n = size ? std::fwrite(data, 1, size, f) : 0;
    const bool ok = n == size && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int err = errno;
    std::fclose(f);
    if (!ok) throw Error(shown + ": write failed (" + std::strerror(err) + ")");
}

void atomicWriteBytes(const std::string& path, const void* data, size_t size) {
    atomicWrite(path, [&](const std::string& tmp) { writeAll(tmp, data, size, path); });
}

void atomicWriteText(const std::string& path, const std::string& text) {
    atomicWriteBytes(path, text.data(), text.size());
}

std::string readText(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
    if (st.st_size > (off_t(256) << 20))
        throw Error(path + ": " + std::to_string(st.st_size) +
                    " bytes is too large for a text file here (256 MB limit)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool exists(const std::string& path) { return stdfs::exists(path); }
bool isDirectory(const std::string& path) { return stdfs::is_directory(path); }

void makeDirs(const std::string& path) {
    std::error_code ec;
    stdfs::create_directories(path, ec);
    if (ec) throw Error(path + ": cannot create folder (" + ec.message() + ")");
}

void ensureWritableDir(const std::string& dir) {
    makeDirs(dir);
    const std::string probe = join(dir, ".dilute-write-probe");
    FILE* f = std::fopen(probe.c_str(), "wb");
    if (!f) throw Error(dir + ": folder is not writable (" + std::strerror(errno) + ")");
    char block[4096] = {};
    const bool ok = std::fwrite(block, 1, sizeof block, f) == sizeof block && std::fflush(f) == 0;
    std::fclose(f);
    std::remove(probe.c_str());
    if (!ok) throw Error(dir + ": cannot write (disk full?)");
}

std::string join(const std::string& a, const std::string& b) { return (stdfs::path(a) / b).string(); }

std::vector<uint8_t> readBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the open
    if (fd < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(path + ": cannot stat (" + std::strerror(e) + ")");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    std::vector<uint8_t> out(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            throw Error(path + ": read error (" + std::strerror(e) + ")");
        }
        if (n == 0) break;  // shrank while reading: keep what is there
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
}

std::vector<uint8_t> readMaybeGz(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    gzbuffer(gz, 1 << 20);
    std::vector<uint8_t> out;
    std::vector<uint8_t> buf(1 << 20);
    for (;;) {
        const int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
        if (n < 0) {
            int code = 0;
            std::string msg = gzerror(gz, &code);
            gzclose(gz);
            throw Error(path + ": corrupt or truncated compressed data (" + msg + ")");
        }
        if (n == 0) break;
        out.insert(out.end(), buf.begin(), buf.begin() + n);
    }
    // gzread returns 0 at a premature end of a gzip stream; gzclose reports that as Z_BUF_ERROR.
    const int rc = gzclose(gz);
    if (rc == Z_BUF_ERROR) throw Error(path + ": truncated gzip file");
    if (rc != Z_OK) throw Error(path + ": read error");
    return out;
}

namespace {
// gzread in a loop: up to n bytes (fewer only at the end of the data).
size_t gzReadFully(gzFile gz, const std::string& path, uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        const unsigned chunk = unsigned(std::min<size_t>(n - got, size_t(1) << 30));
        const int r = gzread(gz, dst + got, chunk);
        if (r < 0) {
            int code = 0;
            const std::string msg = gzerror(gz, &code);
            gzclose(gz);
            throw Error(path + ": corrupt or truncated compressed data (" + msg + ")");
        }
        if (r == 0) break;
        got += size_t(r);
    }
    return got;
}
}  // namespace

uint64_t memoryLimitBytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return uint64_t(4) << 30;
    return uint64_t(pages) * uint64_t(page) / 2;
}

std::vector<uint8_t> readPromisedMaybeGz(const std::string& path, size_t headerSize,
                                         const std::function<uint64_t(const uint8_t*)>& total, uint64_t maxBytes) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    gzbuffer(gz, 1 << 20);
    std::vector<uint8_t> out(headerSize);
    if (gzReadFully(gz, path, out.data(), headerSize) < headerSize) {
        gzclose(gz);
        throw Error(path + ": truncated: shorter than its " + std::to_string(headerSize) + "-byte header");
    }
    uint64_t want = 0;
    try {
        want = total(out.data());
    } catch (...) {
        gzclose(gz);
        throw;
    }
    if (want < headerSize) want = headerSize;
    if (want > maxBytes) {
        gzclose(gz);
        throw Error(path + ": its header promises " + std::to_string(want) + " bytes, more than the limit of " +
                    std::to_string(maxBytes) + " bytes (half of this machine's memory)");
    }
    // What the file itself can hold, before any allocation: a plain file its size, a gzip at
    // most deflate's 1032:1 ratio. Memory then grows with the data actually read, never with a
    // promise alone.
    const uint64_t onDisk = static_cast<uint64_t>(st.st_size);
    const bool plain = gzdirect(gz) != 0;
    const uint64_t canHold = plain ? onDisk : onDisk * 1032 + 4096;
    if (want > canHold) {
        gzclose(gz);
        throw Error(path + ": truncated: its header promises " + std::to_string(want) + " bytes, a " +
                    (plain ? "file" : "gzip file") + " of " + std::to_string(onDisk) + " bytes cannot hold them");
    }
    size_t have = headerSize;
    try {
        while (have < want) {
            const size_t chunk = size_t(std::min<uint64_t>(want - have, uint64_t(64) << 20));
            out.resize(have + chunk);
            const size_t got = gzReadFully(gz, path, out.data() + have, chunk);
            have += got;
            if (got < chunk) break;
        }
    } catch (const std::bad_alloc&) {
        gzclose(gz);
        throw Error(path + ": cannot allocate the " + std::to_string(want) + " bytes its header promises");
    }
    if (have < want) {
        gzclose(gz);
        throw Error(path + ": truncated: its header promises " + std::to_string(want) + " bytes, the file holds " +
                    std::to_string(have));
    }
    uint8_t extra = 0;
    if (gzReadFully(gz, path, &extra, 1) != 0) {
        gzclose(gz);
        throw Error(path + ": holds more data than its header promises (" + std::to_string(want) + " bytes)");
    }
    const int rc = gzclose(gz);
    if (rc == Z_BUF_ERROR) throw Error(path + ": truncated gzip file");
    if (rc != Z_OK) throw Error(path + ": read error");
    return out;
}

std::string selfExecutable() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw Error("cannot find the path of this program (/proc/self/exe)");
    return std::string(buf, size_t(n));
}

}  // namespace dilute::fs
