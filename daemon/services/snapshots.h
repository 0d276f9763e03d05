// containerd.services.snapshots.v1.Snapshots: a thin adapter over the namespaced snapshot
// stores (metadata/snapshots.h) held by Daemon::snapshotters. An empty or unknown snapshotter
// name is InvalidArgument ("snapshotter not loaded: X"), as containerd. Prepare, Commit and
// Remove publish /snapshot/prepare, /snapshot/commit and /snapshot/remove. Snapshots created
// under a containerd-lease header are recorded in that lease.
#pragma once

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class SnapshotsService final : public containerd::services::snapshots::v1::Snapshots::CallbackService {
 public:
  explicit SnapshotsService(Daemon& d) : d_(d) {}

  grpc::ServerUnaryReactor* Prepare(grpc::CallbackServerContext* ctx,
                                    const containerd::services::snapshots::v1::PrepareSnapshotRequest* req,
                                    containerd::services::snapshots::v1::PrepareSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* View(grpc::CallbackServerContext* ctx,
                                 const containerd::services::snapshots::v1::ViewSnapshotRequest* req,
                                 containerd::services::snapshots::v1::ViewSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* Mounts(grpc::CallbackServerContext* ctx,
                                   const containerd::services::snapshots::v1::MountsRequest* req,
                                   containerd::services::snapshots::v1::MountsResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx,
                                   const containerd::services::snapshots::v1::CommitSnapshotRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext* ctx,
                                   const containerd::services::snapshots::v1::RemoveSnapshotRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Stat(grpc::CallbackServerContext* ctx,
                                 const containerd::services::snapshots::v1::StatSnapshotRequest* req,
                                 containerd::services::snapshots::v1::StatSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::snapshots::v1::UpdateSnapshotRequest* req,
                                   containerd::services::snapshots::v1::UpdateSnapshotResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::snapshots::v1::ListSnapshotsResponse>* List(
      grpc::CallbackServerContext* ctx, const containerd::services::snapshots::v1::ListSnapshotsRequest* req) override;
  grpc::ServerUnaryReactor* Usage(grpc::CallbackServerContext* ctx,
                                  const containerd::services::snapshots::v1::UsageRequest* req,
                                  containerd::services::snapshots::v1::UsageResponse* resp) override;
  grpc::ServerUnaryReactor* Cleanup(grpc::CallbackServerContext* ctx,
                                    const containerd::services::snapshots::v1::CleanupRequest* req,
                                    google::protobuf::Empty* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
