// berthd's ttrpc endpoint (<grpc address>.ttrpc, TTRPC_ADDRESS for shims): serves
// containerd.services.events.ttrpc.v1.Events/Forward, republishing each envelope unchanged on
// the daemon's exchange. It answers at once (shims forward events one at a time with a 5 s
// timeout, so a slow answer would stall their exit handling).
//
// Thread-safety: owns one io thread; Start/Stop from the owning thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "events/exchange.h"
#include "ttrpc/server.h"

namespace berth::daemon {

class TtrpcEventsServer {
 public:
  explicit TtrpcEventsServer(events::Exchange& ex) : ex_(ex) {}
  ~TtrpcEventsServer() { Stop(); }

  // Listens on the unix socket `path` (replacing a stale one, mode 0600) and starts serving.
  Status Start(const std::string& path);
  void Stop();

 private:
  events::Exchange& ex_;
  boost::asio::io_context io_;
  std::unique_ptr<ttrpc::Server> server_;
  std::thread thread_;
};

}  // namespace berth::daemon
