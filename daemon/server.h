// The gRPC server of berthd on its unix socket: every service from services/registry.cc,
// containerd's 16 MiB message limits, the standard health service, socket mode 0660 owned by the
// configured group.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <memory>
#include <vector>

#include "daemon/daemon.h"

namespace berth::daemon {

// Every gRPC service berthd serves, built over `d`. Adding a service is one line in registry.cc.
std::vector<std::unique_ptr<grpc::Service>> MakeServices(Daemon& d);

class Server {
 public:
  explicit Server(Daemon& d) : d_(d) {}
  // Binds the socket (replacing a stale one) and starts serving.
  Status Start();
  // Stops accepting calls and connections at once, lets calls in progress finish for
  // `grace_ms`, then cancels every call still open (Tasks/Wait, Events/Subscribe, Content
  // Read/Write streams: their reactors finish on cancellation, so clients see the error) and
  // returns when all have ended.
  void Shutdown(int grace_ms);

 private:
  Daemon& d_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

// Makes sure a stopping berthd ends: from now on a second SIGTERM/SIGINT, or `limit_ms` passing,
// ends the process at once (exit status 1) whatever it is still waiting for (a hung shim call,
// say). Shims and containers are not touched either way. Call with those signals blocked.
void ArmStopDeadline(int limit_ms);

}  // namespace berth::daemon
