// Conversions between berth's nanosecond timestamps and google.protobuf.Timestamp, with Go's
// zero time (0001-01-01, seconds = -62135596800, which containerd clients send for "unset")
// and an absent timestamp both read as 0 ("unset").
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

namespace berth::daemon {

inline constexpr int64_t kGoZeroTimeSeconds = -62135596800;

inline void ToTimestamp(int64_t ns, google::protobuf::Timestamp* out) {
  int64_t s = ns / 1000000000, n = ns % 1000000000;
  if (n < 0) s -= 1, n += 1000000000;
  out->set_seconds(s);
  out->set_nanos(static_cast<int32_t>(n));
}

// 0 for an absent, zero or Go-zero timestamp.
inline int64_t FromTimestamp(bool has, const google::protobuf::Timestamp& t) {
  if (!has || t.seconds() <= kGoZeroTimeSeconds || (t.seconds() == 0 && t.nanos() == 0)) return 0;
  return t.seconds() * 1000000000 + t.nanos();
}

}  // namespace berth::daemon
