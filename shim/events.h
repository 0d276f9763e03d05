// EventForwarder: publishes task events to the daemon by calling
// containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS, with metadata
// containerd-namespace-ttrpc=<ns> and a 5 s timeout per call.
//
// Publish() only queues (bounded: the oldest event is dropped when 128 are waiting), so exit
// handling never blocks on the daemon. Events are sent one at a time in order; a failed send
// is retried up to 10 times with growing delays (0.2 s doubling to at most 4 s, ~22 s in all,
// reconnecting as needed), then dropped. With
// no TTRPC_ADDRESS events are dropped silently. Loop thread only.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/status.h"
#include "ttrpc/client.h"

namespace google::protobuf {
class MessageLite;
}

namespace berth::shim {

class EventForwarder {
 public:
  EventForwarder(boost::asio::io_context& io, std::string address, std::string ns);

  // Queues `event` for `topic` (e.g. "/tasks/exit"); `type_url` is its bare full name
  // ("containerd.events.TaskExit").
  void Publish(const std::string& topic, const std::string& type_url,
               const google::protobuf::MessageLite& event);
  size_t queued() const { return queue_.size(); }

 private:
  struct Item {
    std::string payload;  // encoded ForwardRequest
    int attempts = 0;
  };
  void SendNext();
  void OnSent(const Status& st);

  boost::asio::io_context& io_;
  std::string address_, ns_;
  std::unique_ptr<ttrpc::Client> client_;
  std::deque<Item> queue_;
  bool sending_ = false;
  boost::asio::steady_timer retry_timer_;
};

}  // namespace berth::shim
