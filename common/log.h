// Logging: leveled, one line per message, to stderr. On a terminal the line carries a time and a
// level; under journald (JOURNAL_STREAM set) it carries a "<N>" syslog priority prefix instead,
// which journald turns into the entry's priority. Thread-safe: each line is one write(2).
//
//   BLOG(Info) << "serving on " << path;
#pragma once

#include <sstream>
#include <string_view>

namespace berth::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kFatal };

void SetLevel(Level level);
Level GetLevel();
// Parses "trace", "debug", "info", "warn"/"warning", "error", "fatal"/"panic".
bool ParseLevel(std::string_view s, Level* out);
// Tag put in front of every line ("berthd", "shim ns/id").
void SetTag(std::string_view tag);
// Redirects output to `fd` (default 2).
void SetFd(int fd);

void Write(Level level, std::string_view msg);

class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  ~Line() { Write(level_, os_.str()); }
  template <typename T>
  Line& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  Level level_;
  std::ostringstream os_;
};

}  // namespace berth::log

#define BLOG(level)                                                                   \
  if (::berth::log::Level::k##level < ::berth::log::GetLevel()) {                     \
  } else                                                                              \
    ::berth::log::Line(::berth::log::Level::k##level)
