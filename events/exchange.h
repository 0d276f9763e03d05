// The events exchange: publish/subscribe of containerd event envelopes inside berthd.
//
// Publishers are the daemon's services (namespaces, images, containers, content, snapshots) and
// shims (via ttrpc Events/Forward). Subscribers are Events/Subscribe streams; they are not scoped
// to a namespace and filter with containerd's syntax on `topic`, `namespace` and `event.<field>`.
// The payload stays an encoded protobuf Any (type URL + bytes): this folder does not depend on
// protobuf; whoever publishes may attach a field lookup so `event.*` filters work.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on the publisher's
// thread and must not block (subscribers queue and return).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/filters.h"
#include "common/status.h"

namespace berth::events {

struct Envelope {
  int64_t timestamp_ns = 0;
  std::string ns;
  std::string topic;
  std::string type_url;  // bare message name, e.g. "containerd.events.TaskExit"
  std::string payload;   // the encoded message
  // Optional: value of a field of the decoded event, for `event.<path>` filters.
  std::function<std::optional<std::string>(const FieldPath&)> event_field;
};

// InvalidArgument unless `topic` is "/"-separated non-empty components starting with "/".
Status ValidateTopic(std::string_view topic);

class Exchange {
 public:
  using Callback = std::function<void(const Envelope&)>;

  // Delivers `env` to every matching subscriber. Fills the timestamp when it is 0.
  void Publish(Envelope env);

  // Registers a subscriber; the returned id is passed to Unsubscribe. While a hold is on (see
  // Hold), the held envelopes matching `filter` are delivered to `cb` first, in publish order,
  // on the calling thread, before Subscribe returns.
  uint64_t Subscribe(Filter filter, Callback cb);
  void Unsubscribe(uint64_t id);

  // Hold for late subscribers (berthd restarted under running tasks): until `until`, envelopes
  // whose topic starts with one of `topic_prefixes` are kept (at most kMaxHeld, the oldest
  // dropped) and given to every subscriber that subscribes after they were published. A client
  // whose event stream broke when berthd died (dockerd, which learns exits only from /tasks/exit)
  // re-subscribes after its reconnect backoff; the exits shims forwarded, or berthd published for
  // dead shims, in between would otherwise be lost. A subscriber never gets an envelope twice.
  void Hold(std::vector<std::string> topic_prefixes, std::chrono::steady_clock::time_point until);
  size_t held() const;
  static constexpr size_t kMaxHeld = 1024;

 private:
  struct Sub {
    Filter filter;
    std::shared_ptr<Callback> cb;
  };
  bool Matches(const Filter& f, const Envelope& env) const;
  void ExpireHoldLocked();

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Sub> subs_;
  std::vector<std::string> hold_prefixes_;
  std::chrono::steady_clock::time_point hold_until_{};
  std::deque<Envelope> held_;
};

}  // namespace berth::events
