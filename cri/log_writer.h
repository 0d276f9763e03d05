// The CRI container log format kubelet reads (k8s.io/cri-api's "Container Logging" and containerd's
// pkg/cri/io/logger.go): one line per record,
//   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\n
// A line of the stream longer than `max_line` bytes is written as records of `max_line` bytes
// tagged P (partial) followed by the rest (1..max_line bytes) tagged F; a line ends at '\n' (a '\r' before it is
// dropped, as Go's bufio.ReadLine does). Bytes after the last newline wait for more input and are
// written tagged F at Close(). The timestamp is the time the record is written, in UTC with Go's
// RFC3339Nano layout (trailing zeros of the fraction trimmed).
//
// Not thread-safe: one writer per stream; two writers may share one sink when the sink
// serialises whole records.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::cri {

// Go's time.RFC3339Nano of `unix_ns` in UTC, e.g. "2026-12-02T02:56:48.1234Z".
std::string FormatRfc3339Nano(int64_t unix_ns);

class LogWriter {
 public:
  using Sink = std::function<Status(std::string_view record)>;  // one whole record, newline included
  using Clock = std::function<int64_t()>;                       // unix ns

  // `stream` is "stdout" or "stderr"; max_line <= 0 means no limit.
  LogWriter(std::string stream, int64_t max_line, Sink sink, Clock clock = nullptr);

  // Writes the complete records `data` finishes; errors are the sink's.
  Status Write(std::string_view data);
  // Writes what is buffered (an unterminated last line) as an F record.
  Status Close();

 private:
  Status Emit(std::string_view content, bool partial);

  std::string stream_;
  size_t max_line_;
  Sink sink_;
  Clock clock_;
  std::string pending_;
};

}  // namespace berth::cri
