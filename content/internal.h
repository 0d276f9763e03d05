// Helpers private to content/ implementations (not part of the public interface).
#pragma once

#include <sys/stat.h>

#include <cstdint>

#include "content/store.h"

namespace berth::content {

// Wall-clock time in nanoseconds since the Unix epoch.
int64_t NowNanos();
// A stat's modification time in nanoseconds since the epoch.
int64_t MtimeNanos(const struct stat& st);
// containerd's label rule: non-empty key, key and value together at most 4096 bytes.
Status ValidateContentLabels(const Labels& labels);

}  // namespace berth::content
