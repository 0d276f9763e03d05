#include "cri/log_writer.h"

#include <time.h>

#include <limits>

namespace berth::cri {

std::string FormatRfc3339Nano(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  out += "Z";
  return out;
}

LogWriter::LogWriter(std::string stream, int64_t max_line, Sink sink, Clock clock)
    : stream_(std::move(stream)),
      max_line_(max_line > 0 ? static_cast<size_t>(max_line) : std::numeric_limits<size_t>::max()),
      sink_(std::move(sink)),
      clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    };
  }
}

Status LogWriter::Emit(std::string_view content, bool partial) {
  std::string rec = FormatRfc3339Nano(clock_());
  rec.reserve(rec.size() + stream_.size() + content.size() + 5);
  rec += ' ';
  rec += stream_;
  rec += partial ? " P " : " F ";
  rec += content;
  rec += '\n';
  return sink_(rec);
}

Status LogWriter::Write(std::string_view data) {
  pending_.append(data.data(), data.size());
  size_t start = 0;
  for (;;) {
    size_t nl = pending_.find('\n', start);
    size_t end = nl == std::string::npos ? pending_.size() : nl;
    // Full chunks of an over-long line are partial records.
    while (end - start > max_line_) {
      RETURN_IF_ERROR(Emit(std::string_view(pending_).substr(start, max_line_), true));
      start += max_line_;
    }
    if (nl == std::string::npos) break;
    std::string_view line = std::string_view(pending_).substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    RETURN_IF_ERROR(Emit(line, false));
    start = nl + 1;
  }
  pending_.erase(0, start);
  return Status();
}

Status LogWriter::Close() {
  if (pending_.empty()) return Status();
  std::string rest = std::move(pending_);
  pending_.clear();
  return Emit(rest, false);
}

}  // namespace berth::cri
