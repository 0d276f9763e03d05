#include "common/unique.h"

#include <sys/random.h>
#include <time.h>

#include <cstdint>

#include "common/status.h"

namespace berth {

std::string UniquePart() {
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  unsigned char b[3] = {0, 0, 0};
  if (getrandom(b, sizeof b, 0) != sizeof b) {
    // No entropy yet (very early boot): the clock still makes the name unlikely to collide.
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    b[0] = mono.tv_nsec & 0xff, b[1] = (mono.tv_nsec >> 8) & 0xff, b[2] = (mono.tv_nsec >> 16) & 0xff;
  }
  uint32_t v = (b[0] << 16) | (b[1] << 8) | b[2];
  std::string suffix = {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  return StrCat(static_cast<int64_t>(now.tv_nsec), "-", suffix);
}

std::string RandomHex(size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n);
  unsigned char buf[32];
  while (out.size() < n) {
    ssize_t got = getrandom(buf, sizeof buf, 0);
    if (got <= 0) {
      // No entropy yet: the monotonic clock's nanoseconds still make a collision unlikely.
      struct timespec mono;
      clock_gettime(CLOCK_MONOTONIC, &mono);
      uint64_t v = static_cast<uint64_t>(mono.tv_nsec) * 0x9e3779b97f4a7c15ull + out.size();
      for (size_t i = 0; i < sizeof buf; ++i) buf[i] = static_cast<unsigned char>(v >> ((i % 8) * 8));
      got = sizeof buf;
    }
    for (ssize_t i = 0; i < got && out.size() < n; ++i) {
      out += kHex[buf[i] >> 4];
      if (out.size() < n) out += kHex[buf[i] & 15];
    }
  }
  return out;
}

}  // namespace berth
