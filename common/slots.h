// Slots: a counting semaphore that bounds how many of something run at once (berthd's concurrent
// pulls and layer unpacks). Acquire() blocks until a slot is free; the returned Hold gives it
// back when destroyed. A Slots of 0 (or less) is unbounded.
//
// Thread-safety: every member may be called from any thread; a Hold must not outlive its Slots.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

class Slots {
 public:
  explicit Slots(int limit) : limit_(limit) {}
  Slots(const Slots&) = delete;
  Slots& operator=(const Slots&) = delete;

  class Hold {
   public:
    Hold() = default;
    explicit Hold(Slots* s) : s_(s) {}
    Hold(Hold&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Hold& operator=(Hold&& o) noexcept {
      if (this != &o) {
        Release();
        s_ = o.s_;
        o.s_ = nullptr;
      }
      return *this;
    }
    ~Hold() { Release(); }

   private:
    void Release() {
      if (s_) s_->Release();
      s_ = nullptr;
    }
    Slots* s_ = nullptr;
  };

  // Waits for a free slot. `cancelled` (optional) is polled every 100 ms while waiting; when it
  // returns true, Acquire returns Cancelled("<what> cancelled while waiting for a slot").
  StatusOr<Hold> Acquire(const std::function<bool()>& cancelled = {}, std::string_view what = "call") {
    if (limit_ <= 0) return Hold();
    std::unique_lock<std::mutex> l(mu_);
    while (used_ >= limit_) {
      if (cancelled && cancelled()) return absl::CancelledError(std::string(what) + " cancelled while waiting for a slot");
      cv_.wait_for(l, std::chrono::milliseconds(100));
    }
    ++used_;
    return Hold(this);
  }

  int limit() const { return limit_; }
  int used() const {
    std::lock_guard<std::mutex> l(mu_);
    return used_;
  }

 private:
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    --used_;
    cv_.notify_one();
  }
  const int limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int used_ = 0;
};

}  // namespace berth
