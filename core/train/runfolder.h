#pragma once
// Run folders: a fresh run never writes into a folder that holds another run.
#include <string>

namespace dilute::train {

/// True when DIR exists and holds anything (a run, or other files): a fresh run may not use it.
bool runFolderInUse(const std::string& dir);
/// DIR when it is free, else the first free DIR-2, DIR-3, ... (what the workbench proposes).
std::string nextFreeRunDir(const std::string& dir);
/// Makes DIR ready for a fresh run: refuses a folder in use, or with `overwrite` removes the old
/// run in it first (refusing a folder that does not look like a run: no config.json,
/// metrics.jsonl or checkpoints/). Throws dilute::Error naming the folder.
void prepareRunFolder(const std::string& dir, bool overwrite);

/// An exclusive lock on a run folder (flock on the folder itself, no file in it), held by the
/// process that trains into it: a second process resuming, overwriting or starting a run in the
/// same folder is refused (dilute::Error naming the folder) instead of mixing two runs'
/// checkpoints. Released when the object dies or the process ends, even when killed. A missing
/// folder, or a filesystem without flock, leaves it unlocked (held() false).
class RunLock {
public:
    explicit RunLock(const std::string& dir);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    bool held() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};
/// True when a process holds DIR's RunLock (a run is being written there now).
bool runFolderLocked(const std::string& dir);

}  // namespace dilute::train
