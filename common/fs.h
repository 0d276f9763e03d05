// Small filesystem helpers with Status results. Atomic writes follow one recipe everywhere:
// write "<name>.tmp-XXXXXX" in the same directory, fsync it, rename it over the target, fsync
// the directory. A crash leaves the old file or the new one, never a torn one.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// Writes `data` to `path` atomically with mode `mode` (durable once this returns OK).
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Writes `data` to an existing file in one write(2), in place: for kernel interfaces (procfs,
// cgroupfs) where a temporary file and rename cannot work. errno statuses.
Status WriteFileInPlace(const std::string& path, std::string_view data);

// Reads a whole (small) file. NotFound when it is missing.
StatusOr<std::string> ReadFile(const std::string& path);

// fsync(2) on a directory, so a rename or create inside it survives a crash.
Status FsyncDir(const std::string& dir);

// mkdir -p with `mode` for the directories it creates.
Status MkdirAll(const std::string& path, mode_t mode = 0755);

// rm -rf that never crosses into another filesystem (a forgotten mount below `path` is left
// alone and reported as FailedPrecondition rather than having its contents deleted).
// A missing path is OK.
Status RemoveAll(const std::string& path);

// The directory part of a path ("/a/b" -> "/a", "b" -> ".").
std::string DirName(const std::string& path);

// Joins two path parts with exactly one slash.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace berth
