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

}  // namespace dilute::train
