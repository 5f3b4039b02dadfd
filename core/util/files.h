#pragma once
// File helpers: atomic writes (temp file in the same folder + rename) and small readers.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dilute::fs {

/// Writes via `writer(tempPath)`, then renames tempPath over `path`. On failure the temp file
/// is removed and the old `path` (if any) is left untouched.
void atomicWrite(const std::string& path, const std::function<void(const std::string& tmp)>& writer);
void atomicWriteText(const std::string& path, const std::string& text);
void atomicWriteBytes(const std::string& path, const void* data, size_t size);

std::string readText(const std::string& path);
bool exists(const std::string& path);
bool isDirectory(const std::string& path);
void makeDirs(const std::string& path);
/// Throws a clear error if `dir` cannot be created or written (checked with a probe file).
void ensureWritableDir(const std::string& dir);
std::string join(const std::string& a, const std::string& b);
/// The path of the running executable (/proc/self/exe).
std::string selfExecutable();
/// Reads a whole file (POSIX read into one buffer sized from fstat).
std::vector<uint8_t> readBytes(const std::string& path);
/// Decompresses a gzip file (or reads a plain one) fully into memory.
std::vector<uint8_t> readMaybeGz(const std::string& path);
/// Reads a file, gzipped or not, whose size a header at its start promises: `headerSize` bytes
/// first, then `total(header)` (which throws when the header is implausible) bytes in all, never
/// more than `maxBytes`. Data past the promise is an error, so memory is bounded by the header,
/// not by what a compressed file would inflate to. Short files throw "truncated".
std::vector<uint8_t> readPromisedMaybeGz(const std::string& path, size_t headerSize,
                                         const std::function<uint64_t(const uint8_t* header)>& total,
                                         uint64_t maxBytes);
/// Half of the machine's physical memory: the default ceiling for one dataset file in memory.
uint64_t memoryLimitBytes();

}  // namespace dilute::fs
