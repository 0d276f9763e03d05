// The Kubernetes CRI (runtime.v1 RuntimeService and ImageService) on berthd's socket: thin
// adapters over the core in cri/ (docs/DESIGN.md, "CRI"). Both services share one CriCore built
// from the Daemon: the image manager over berthd's image records, content, snapshotter and puller.
#pragma once

#include <memory>

#include "cri/images.h"
#include "cri/container.h"
#include "cri/sandbox.h"
#include "daemon/daemon.h"
#include "network/cni.h"
#include "k8s/cri/runtime/v1/api.grpc.pb.h"

namespace berth::daemon {

// A task's cgroups v1 or v2 metrics (a shim Stats answer) in CRI's terms (cri::TaskMetrics).
StatusOr<cri::TaskMetrics> ConvertCgroupMetrics(const std::string& type_url, const std::string& value,
                                                int64_t timestamp);

struct CriCore {
  explicit CriCore(Daemon& d);
  Daemon& d;
  std::unique_ptr<cri::ImageManager> images;
  std::unique_ptr<network::Cni> cni;  // pod networks: bin_dir plugins, cache under the CRI root
  std::unique_ptr<cri::SandboxManager> sandboxes;
  std::unique_ptr<cri::ContainerManager> containers;

  // Imports berth-pause as image `ref` (cri/pause_image.h); returns its id.
  StatusOr<std::string> ImportPause(const std::string& ref);
};

class CriImageService final : public ::runtime::v1::ImageService::CallbackService {
 public:
  explicit CriImageService(std::shared_ptr<CriCore> core) : c_(std::move(core)) {}
  grpc::ServerUnaryReactor* ListImages(grpc::CallbackServerContext* ctx, const ::runtime::v1::ListImagesRequest* req,
                                       ::runtime::v1::ListImagesResponse* resp) override;
  grpc::ServerUnaryReactor* ImageStatus(grpc::CallbackServerContext* ctx, const ::runtime::v1::ImageStatusRequest* req,
                                        ::runtime::v1::ImageStatusResponse* resp) override;
  grpc::ServerUnaryReactor* PullImage(grpc::CallbackServerContext* ctx, const ::runtime::v1::PullImageRequest* req,
                                      ::runtime::v1::PullImageResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveImage(grpc::CallbackServerContext* ctx, const ::runtime::v1::RemoveImageRequest* req,
                                        ::runtime::v1::RemoveImageResponse* resp) override;
  grpc::ServerUnaryReactor* ImageFsInfo(grpc::CallbackServerContext* ctx, const ::runtime::v1::ImageFsInfoRequest* req,
                                        ::runtime::v1::ImageFsInfoResponse* resp) override;

 private:
  std::shared_ptr<CriCore> c_;
};

class CriRuntimeService final : public ::runtime::v1::RuntimeService::CallbackService {
 public:
  explicit CriRuntimeService(std::shared_ptr<CriCore> core) : c_(std::move(core)) {}
  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* ctx, const ::runtime::v1::VersionRequest* req,
                                    ::runtime::v1::VersionResponse* resp) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const ::runtime::v1::StatusRequest* req,
                                   ::runtime::v1::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* RunPodSandbox(grpc::CallbackServerContext* ctx, const ::runtime::v1::RunPodSandboxRequest* req,
                                          ::runtime::v1::RunPodSandboxResponse* resp) override;
  grpc::ServerUnaryReactor* StopPodSandbox(grpc::CallbackServerContext* ctx,
                                           const ::runtime::v1::StopPodSandboxRequest* req,
                                           ::runtime::v1::StopPodSandboxResponse* resp) override;
  grpc::ServerUnaryReactor* RemovePodSandbox(grpc::CallbackServerContext* ctx,
                                             const ::runtime::v1::RemovePodSandboxRequest* req,
                                             ::runtime::v1::RemovePodSandboxResponse* resp) override;
  grpc::ServerUnaryReactor* PodSandboxStatus(grpc::CallbackServerContext* ctx,
                                             const ::runtime::v1::PodSandboxStatusRequest* req,
                                             ::runtime::v1::PodSandboxStatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListPodSandbox(grpc::CallbackServerContext* ctx,
                                           const ::runtime::v1::ListPodSandboxRequest* req,
                                           ::runtime::v1::ListPodSandboxResponse* resp) override;
  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* ctx,
                                            const ::runtime::v1::CreateContainerRequest* req,
                                            ::runtime::v1::CreateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* ctx,
                                           const ::runtime::v1::StartContainerRequest* req,
                                           ::runtime::v1::StartContainerResponse* resp) override;
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* ctx,
                                          const ::runtime::v1::StopContainerRequest* req,
                                          ::runtime::v1::StopContainerResponse* resp) override;
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* ctx,
                                            const ::runtime::v1::RemoveContainerRequest* req,
                                            ::runtime::v1::RemoveContainerResponse* resp) override;
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* ctx,
                                           const ::runtime::v1::ListContainersRequest* req,
                                           ::runtime::v1::ListContainersResponse* resp) override;
  grpc::ServerUnaryReactor* ContainerStatus(grpc::CallbackServerContext* ctx,
                                            const ::runtime::v1::ContainerStatusRequest* req,
                                            ::runtime::v1::ContainerStatusResponse* resp) override;
  grpc::ServerUnaryReactor* ExecSync(grpc::CallbackServerContext* ctx, const ::runtime::v1::ExecSyncRequest* req,
                                     ::runtime::v1::ExecSyncResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateContainerResources(grpc::CallbackServerContext* ctx,
                                                     const ::runtime::v1::UpdateContainerResourcesRequest* req,
                                                     ::runtime::v1::UpdateContainerResourcesResponse* resp) override;
  grpc::ServerUnaryReactor* ContainerStats(grpc::CallbackServerContext* ctx,
                                           const ::runtime::v1::ContainerStatsRequest* req,
                                           ::runtime::v1::ContainerStatsResponse* resp) override;
  grpc::ServerUnaryReactor* ListContainerStats(grpc::CallbackServerContext* ctx,
                                               const ::runtime::v1::ListContainerStatsRequest* req,
                                               ::runtime::v1::ListContainerStatsResponse* resp) override;
  grpc::ServerUnaryReactor* ReopenContainerLog(grpc::CallbackServerContext* ctx,
                                               const ::runtime::v1::ReopenContainerLogRequest* req,
                                               ::runtime::v1::ReopenContainerLogResponse* resp) override;
  // The streaming server is not built yet: Unimplemented, saying so.
  grpc::ServerUnaryReactor* Exec(grpc::CallbackServerContext* ctx, const ::runtime::v1::ExecRequest* req,
                                 ::runtime::v1::ExecResponse* resp) override;
  grpc::ServerUnaryReactor* Attach(grpc::CallbackServerContext* ctx, const ::runtime::v1::AttachRequest* req,
                                   ::runtime::v1::AttachResponse* resp) override;
  grpc::ServerUnaryReactor* PortForward(grpc::CallbackServerContext* ctx, const ::runtime::v1::PortForwardRequest* req,
                                        ::runtime::v1::PortForwardResponse* resp) override;

 private:
  std::shared_ptr<CriCore> c_;
};

}  // namespace berth::daemon
