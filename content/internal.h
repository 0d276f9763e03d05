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
// Writes a small ingest bookkeeping file (ref, total, timestamps) without fsync: an ingest is
// resumable state, not data, and one whose files a crash tore is removed at start-up. Written to
// "<path>.tmp" and renamed, so concurrent readers see the old or the new content.
Status WriteIngestFile(const std::string& path, std::string_view data);
// containerd's label rule: non-empty key, key and value together at most 4096 bytes.
Status ValidateContentLabels(const Labels& labels);

}  // namespace berth::content
