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

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>

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

  // Registers a subscriber; the returned id is passed to Unsubscribe.
  uint64_t Subscribe(Filter filter, Callback cb);
  void Unsubscribe(uint64_t id);

 private:
  struct Sub {
    Filter filter;
    std::shared_ptr<Callback> cb;
  };
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Sub> subs_;
};

}  // namespace berth::events
