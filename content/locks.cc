#include "content/locks.h"

#include <time.h>

#include <chrono>
#include <random>
#include <thread>

#include "content/internal.h"

namespace berth::content {
namespace {

// "1.500" -> "1.5", "2.000" -> "2".
std::string TrimFraction(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string Fixed(int64_t whole, int64_t frac, int digits) {
  std::string f = std::to_string(frac);
  f.insert(0, static_cast<size_t>(digits) - std::min<size_t>(f.size(), static_cast<size_t>(digits)), '0');
  return TrimFraction(std::to_string(whole) + "." + f);
}

}  // namespace

std::string FormatGoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + Fixed(static_cast<int64_t>(u / 1000), static_cast<int64_t>(u % 1000), 3) + "µs";
  if (u < 1000000000) {
    return sign + Fixed(static_cast<int64_t>(u / 1000000), static_cast<int64_t>(u % 1000000), 6) + "ms";
  }
  uint64_t secs = u / 1000000000, frac = u % 1000000000;
  std::string out = sign;
  if (secs >= 3600) out += std::to_string(secs / 3600) + "h";
  if (secs >= 60) out += std::to_string((secs / 60) % 60) + "m";
  out += Fixed(static_cast<int64_t>(secs % 60), static_cast<int64_t>(frac), 9) + "s";
  return out;
}

std::string FormatGoTime(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  int64_t frac = unix_ns % 1000000000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    std::string f = Fixed(0, frac, 9);  // "0.123"
    out += f.substr(1);
  }
  return out + " +0000 UTC";
}

Status RefLocks::TryLock(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = NowNanos();
  auto [it, inserted] = held_.emplace(ref, now);
  if (inserted) return Status();
  return absl::UnavailableError(StrCat("ref ", ref, " locked for ", FormatGoDuration(now - it->second), " (since ",
                                       FormatGoTime(it->second), "): unavailable"));
}

Status RefLocks::LockWithRetry(const std::string& ref) {
  thread_local std::minstd_rand rng(std::random_device{}());
  Status s;
  for (int attempt = 0; attempt < 10; ++attempt) {
    s = TryLock(ref);
    if (s.ok()) return s;
    std::uniform_int_distribution<int> ms(0, (1 << attempt) - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
  }
  return s;
}

void RefLocks::Unlock(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  held_.erase(ref);
}

bool RefLocks::IsLocked(const std::string& ref) {
  std::lock_guard<std::mutex> l(mu_);
  return held_.count(ref) > 0;
}

}  // namespace berth::content
