// containerd.services.leases.v1.Leases: a thin adapter over metadata::LeaseStore. Delete runs
// garbage collection (synchronously when the request sets `sync`, else scheduled).
#pragma once

#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class LeasesService final : public containerd::services::leases::v1::Leases::CallbackService {
 public:
  explicit LeasesService(Daemon& d) : d_(d) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const containerd::services::leases::v1::CreateRequest* req,
                                   containerd::services::leases::v1::CreateResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::leases::v1::DeleteRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::leases::v1::ListRequest* req,
                                 containerd::services::leases::v1::ListResponse* resp) override;
  grpc::ServerUnaryReactor* AddResource(grpc::CallbackServerContext* ctx,
                                        const containerd::services::leases::v1::AddResourceRequest* req,
                                        google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* DeleteResource(grpc::CallbackServerContext* ctx,
                                           const containerd::services::leases::v1::DeleteResourceRequest* req,
                                           google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* ListResources(grpc::CallbackServerContext* ctx,
                                          const containerd::services::leases::v1::ListResourcesRequest* req,
                                          containerd::services::leases::v1::ListResourcesResponse* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
