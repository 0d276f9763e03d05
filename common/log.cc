#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

namespace berth::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<int> g_fd{2};
std::mutex g_tag_mu;
std::string g_tag;

const char* Name(Level l) {
  switch (l) {
    case Level::kTrace: return "TRACE";
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
    case Level::kFatal: return "FATAL";
  }
  return "?";
}

int SyslogPriority(Level l) {
  switch (l) {
    case Level::kTrace:
    case Level::kDebug: return 7;
    case Level::kInfo: return 6;
    case Level::kWarn: return 4;
    case Level::kError: return 3;
    case Level::kFatal: return 2;
  }
  return 6;
}

bool UnderJournal() {
  static const bool v = std::getenv("JOURNAL_STREAM") != nullptr;
  return v;
}

}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }
void SetFd(int fd) { g_fd = fd; }
void SetTag(std::string_view tag) {
  std::lock_guard<std::mutex> l(g_tag_mu);
  g_tag = tag;
}

bool ParseLevel(std::string_view s, Level* out) {
  if (s == "trace") *out = Level::kTrace;
  else if (s == "debug") *out = Level::kDebug;
  else if (s == "info") *out = Level::kInfo;
  else if (s == "warn" || s == "warning") *out = Level::kWarn;
  else if (s == "error") *out = Level::kError;
  else if (s == "fatal" || s == "panic") *out = Level::kFatal;
  else return false;
  return true;
}

void Write(Level level, std::string_view msg) {
  std::string line;
  line.reserve(msg.size() + 64);
  std::string tag;
  {
    std::lock_guard<std::mutex> l(g_tag_mu);
    tag = g_tag;
  }
  if (UnderJournal()) {
    line += '<';
    line += std::to_string(SyslogPriority(level));
    line += '>';
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    line += buf;
    line += Name(level);
    line += ' ';
  }
  if (!tag.empty()) {
    line += tag;
    line += ": ";
  }
  line += msg;
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(g_fd, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace berth::log
