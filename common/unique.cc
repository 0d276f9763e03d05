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

}  // namespace berth
