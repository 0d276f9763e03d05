// Containers service (containerd.services.containers.v1.Containers): a thin adapter over
// metadata::ContainerStore that also publishes /containers/{create,update,delete} events.
// ListStream streams one ListContainerMessage per container from a write reactor.
#pragma once

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class ContainersService final : public containerd::services::containers::v1::Containers::CallbackService {
 public:
  explicit ContainersService(Daemon& d) : d_(d) {}
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::containers::v1::GetContainerRequest* req,
                                containerd::services::containers::v1::GetContainerResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::containers::v1::ListContainersRequest* req,
                                 containerd::services::containers::v1::ListContainersResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::containers::v1::ListContainerMessage>* ListStream(
      grpc::CallbackServerContext* ctx, const containerd::services::containers::v1::ListContainersRequest* req) override;
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const containerd::services::containers::v1::CreateContainerRequest* req,
                                   containerd::services::containers::v1::CreateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::containers::v1::UpdateContainerRequest* req,
                                   containerd::services::containers::v1::UpdateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::containers::v1::DeleteContainerRequest* req,
                                   google::protobuf::Empty* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
