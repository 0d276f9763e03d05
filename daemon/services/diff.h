// containerd.services.diff.v1.Diff: Apply unpacks a layer blob (read through
// Daemon::open_blob, verified against the descriptor's digest and size) onto the given mounts
// and answers the applied uncompressed layer {application/vnd.oci.image.layer.v1.tar, diffID,
// uncompressed size}. A blob that does not match its descriptor is FailedPrecondition.
// Diff (computing a layer from two mounts) is Unimplemented for now.
#pragma once

#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class DiffService final : public containerd::services::diff::v1::Diff::CallbackService {
 public:
  explicit DiffService(Daemon& d) : d_(d) {}

  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* ctx,
                                  const containerd::services::diff::v1::ApplyRequest* req,
                                  containerd::services::diff::v1::ApplyResponse* resp) override;
  grpc::ServerUnaryReactor* Diff(grpc::CallbackServerContext* ctx,
                                 const containerd::services::diff::v1::DiffRequest* req,
                                 containerd::services::diff::v1::DiffResponse* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
