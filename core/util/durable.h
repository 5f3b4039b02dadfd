#pragma once
// Durability helpers for sets of files that must survive a crash or a kill -9 together:
// fsync of files and folders, content checksums, free space.
#include <cstdint>
#include <string>

namespace dilute::fs {

/// Flushes a file's data to the disk (fsync). Throws dilute::Error naming the file.
void syncFile(const std::string& path);
/// Flushes a folder's entries (after a rename or create inside it) to the disk.
void syncDir(const std::string& dir);
/// CRC-32 (zlib's polynomial) of a whole file and its size, read in 1 MB chunks.
struct FileDigest {
    uint64_t bytes = 0;
    uint32_t crc32 = 0;
};
FileDigest digestFile(const std::string& path);
/// Bytes available to this user on the filesystem that holds `dir` (statvfs).
uint64_t freeBytes(const std::string& dir);
/// Throws an error naming `dir`, what is needed for `what` and what is free when less than
/// `needed` bytes are available.
void requireFreeSpace(const std::string& dir, uint64_t needed, const std::string& what);
/// "1.2 GB" style.
std::string formatBytes(uint64_t bytes);

}  // namespace dilute::fs
