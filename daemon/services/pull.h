// berth.services.images.v1.Images/Pull: a server-streaming adapter over RunPull (daemon/puller.h).
// The pull runs on the daemon's pool; its progress messages are queued and written one at a
// time by the reactor; cancelling the call stops the pull between steps.
#pragma once

#include "berth/services/images/v1/pull.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class PullService final : public berth::services::images::v1::Images::CallbackService {
 public:
  explicit PullService(Daemon& d) : d_(d) {}
  grpc::ServerWriteReactor<berth::services::images::v1::PullProgress>* Pull(
      grpc::CallbackServerContext* ctx, const berth::services::images::v1::PullRequest* req) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
