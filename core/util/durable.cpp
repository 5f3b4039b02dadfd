#include "util/durable.h"

#include <zlib.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace dilute::fs {

namespace {
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};
}  // namespace

void syncFile(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw Error(path + ": cannot open to flush (" + std::strerror(errno) + ")");
    if (::fsync(f.fd) != 0) throw Error(path + ": cannot flush to disk (" + std::strerror(errno) + ")");
}

void syncDir(const std::string& dir) {
    Fd f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (f.fd < 0) throw Error(dir + ": cannot open folder to flush (" + std::strerror(errno) + ")");
    // Some filesystems (and FUSE mounts) refuse fsync on folders; the rename itself is still atomic.
    if (::fsync(f.fd) != 0 && errno != EINVAL && errno != EROFS)
        throw Error(dir + ": cannot flush folder to disk (" + std::strerror(errno) + ")");
}

FileDigest digestFile(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<unsigned char> buf(1 << 20);
    FileDigest d;
    uLong crc = crc32(0L, Z_NULL, 0);
    while (true) {
        const ssize_t n = ::read(f.fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(path + ": read error (" + std::strerror(errno) + ")");
        }
        if (n == 0) break;
        crc = crc32(crc, buf.data(), static_cast<uInt>(n));
        d.bytes += static_cast<uint64_t>(n);
    }
    d.crc32 = static_cast<uint32_t>(crc);
    return d;
}

uint64_t freeBytes(const std::string& dir) {
    struct statvfs s {};
    if (::statvfs(dir.c_str(), &s) != 0) throw Error(dir + ": cannot query free space (" + std::strerror(errno) + ")");
    return static_cast<uint64_t>(s.f_bavail) * static_cast<uint64_t>(s.f_frsize);
}

std::string formatBytes(uint64_t b) {
    const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1000 && u < 6) v /= 1000, ++u;
    char buf[48];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(b));
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

void requireFreeSpace(const std::string& dir, uint64_t needed, const std::string& what) {
    const uint64_t free = freeBytes(dir);
    if (free < needed)
        throw Error(dir + ": not enough free space: " + what + " needs about " + formatBytes(needed) + ", " +
                    formatBytes(free) + " free");
}

}  // namespace dilute::fs
