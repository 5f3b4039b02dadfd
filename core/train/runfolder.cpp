#include "train/runfolder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/error.h"
#include "util/files.h"

namespace dilute::train {

bool runFolderInUse(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return false;
    if (!std::filesystem::is_directory(dir, ec)) return true;
    return std::filesystem::directory_iterator(dir, ec) != std::filesystem::directory_iterator();
}

std::string nextFreeRunDir(const std::string& dir) {
    if (!runFolderInUse(dir)) return dir;
    std::string base = dir;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    // "run-3" continues as run-4, not run-3-2.
    const auto dash = base.rfind('-');
    if (dash != std::string::npos && dash + 1 < base.size() &&
        base.find_first_not_of("0123456789", dash + 1) == std::string::npos && base.size() - dash <= 6)
        base = base.substr(0, dash);
    for (int i = 2; i < 100000; ++i) {
        const std::string c = base + "-" + std::to_string(i);
        if (!runFolderInUse(c)) return c;
    }
    throw Error(dir + ": no free run folder name beside it");
}

void prepareRunFolder(const std::string& dir, bool overwrite) {
    if (!runFolderInUse(dir)) return;
    namespace sfs = std::filesystem;
    std::error_code ec;
    const bool isRun = sfs::exists(fs::join(dir, "config.json"), ec) ||
                       sfs::exists(fs::join(dir, "metrics.jsonl"), ec) || sfs::exists(fs::join(dir, "checkpoints"), ec);
    if (!overwrite) {
        throw Error(dir + ": the folder already holds " + std::string(isRun ? "a run" : "files") +
                    "; choose another run folder" + (isRun ? ", continue it with --resume " + dir + "," : ",") +
                    " or pass --overwrite to replace it");
    }
    if (!isRun)
        throw Error(dir +
                    ": --overwrite replaces a run folder, and this folder holds no run (no config.json, "
                    "metrics.jsonl or checkpoints/); refusing to delete it");
    for (const auto& e : sfs::directory_iterator(dir, ec)) {
        sfs::remove_all(e.path(), ec);
        if (ec) throw Error(e.path().string() + ": cannot remove the old run's file (" + ec.message() + ")");
    }
}

RunLock::RunLock(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // no folder yet / not a folder: the caller's own checks say so
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        fd_ = fd;
        return;
    }
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
        throw Error(dir +
                    ": another process is training into this run folder now (it holds the folder's lock); "
                    "wait for it to finish or stop it (Ctrl-C writes a checkpoint), then resume");
    // ENOLCK / EINVAL / ENOTSUP: a filesystem without flock; train unlocked.
}

RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

bool runFolderLocked(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool locked = false;
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0) locked = errno == EWOULDBLOCK;
    ::close(fd);  // a shared lock taken here is released at once
    return locked;
}

}  // namespace dilute::train
