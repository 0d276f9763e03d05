#include "runtime/log_drainer.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"

namespace berth::runtime {

LogDrainer::LogDrainer() {
  epoll_.Reset(epoll_create1(EPOLL_CLOEXEC));
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { Run(); });
}

LogDrainer::~LogDrainer() {
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void LogDrainer::Add(UniqueFd fd, const std::string& tag) {
  std::lock_guard<std::mutex> l(mu_);
  int raw = fd.get();
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.fd = raw;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
    BLOG(Warn) << "log drainer: epoll add for " << tag << ": " << strerror(errno);
  }
  sources_[raw] = Source{std::move(fd), tag, {}};
}

void LogDrainer::Remove(const std::string& tag) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = sources_.begin(); it != sources_.end(); ++it) {
    if (it->second.tag != tag) continue;
    Drain(it->second, /*flush=*/true);
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
    sources_.erase(it);
    return;
  }
}

void LogDrainer::Drain(Source& s, bool flush) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(s.fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    s.partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl > start) {
        BLOG(Info) << "shim " << s.tag << ": " << std::string_view(s.partial).substr(start, nl - start);
      }
    }
    s.partial.erase(0, start);
    if (s.partial.size() > 16384) {
      BLOG(Info) << "shim " << s.tag << ": " << s.partial;
      s.partial.clear();
    }
  }
  if (flush && !s.partial.empty()) {
    BLOG(Info) << "shim " << s.tag << ": " << s.partial;
    s.partial.clear();
  }
}

void LogDrainer::Run() {
  struct epoll_event evs[32];
  for (;;) {
    int n = epoll_wait(epoll_.get(), evs, 32, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      BLOG(Error) << "log drainer: epoll_wait: " << strerror(errno);
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.fd == wake_.get()) return;
      auto it = sources_.find(evs[i].data.fd);
      if (it != sources_.end()) Drain(it->second, /*flush=*/false);
    }
  }
}

}  // namespace berth::runtime
