// Version, Introspection and Namespaces services: thin adapters over Daemon.
#pragma once

#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class VersionService final : public containerd::services::version::v1::Version::CallbackService {
 public:
  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* ctx, const google::protobuf::Empty* req,
                                    containerd::services::version::v1::VersionResponse* resp) override;
};

class IntrospectionService final : public containerd::services::introspection::v1::Introspection::CallbackService {
 public:
  explicit IntrospectionService(Daemon& d) : d_(d) {}
  grpc::ServerUnaryReactor* Plugins(grpc::CallbackServerContext* ctx,
                                    const containerd::services::introspection::v1::PluginsRequest* req,
                                    containerd::services::introspection::v1::PluginsResponse* resp) override;
  grpc::ServerUnaryReactor* Server(grpc::CallbackServerContext* ctx, const google::protobuf::Empty* req,
                                   containerd::services::introspection::v1::ServerResponse* resp) override;

 private:
  Daemon& d_;
};

class NamespacesService final : public containerd::services::namespaces::v1::Namespaces::CallbackService {
 public:
  explicit NamespacesService(Daemon& d) : d_(d) {}
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::namespaces::v1::GetNamespaceRequest* req,
                                containerd::services::namespaces::v1::GetNamespaceResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::namespaces::v1::ListNamespacesRequest* req,
                                 containerd::services::namespaces::v1::ListNamespacesResponse* resp) override;
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const containerd::services::namespaces::v1::CreateNamespaceRequest* req,
                                   containerd::services::namespaces::v1::CreateNamespaceResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::namespaces::v1::UpdateNamespaceRequest* req,
                                   containerd::services::namespaces::v1::UpdateNamespaceResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::namespaces::v1::DeleteNamespaceRequest* req,
                                   google::protobuf::Empty* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
