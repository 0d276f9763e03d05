// containerd.services.images.v1.Images: a thin adapter over metadata::ImageStore. Publishes
// /images/create, /images/update and /images/delete, and schedules garbage collection after a
// delete (waiting for it when the request sets `sync`).
#pragma once

#include "containerd/services/images/v1/images.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class ImagesService final : public containerd::services::images::v1::Images::CallbackService {
 public:
  explicit ImagesService(Daemon& d) : d_(d) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::images::v1::GetImageRequest* req,
                                containerd::services::images::v1::GetImageResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::images::v1::ListImagesRequest* req,
                                 containerd::services::images::v1::ListImagesResponse* resp) override;
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const containerd::services::images::v1::CreateImageRequest* req,
                                   containerd::services::images::v1::CreateImageResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::images::v1::UpdateImageRequest* req,
                                   containerd::services::images::v1::UpdateImageResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::images::v1::DeleteImageRequest* req,
                                   google::protobuf::Empty* resp) override;

 private:
  Daemon& d_;
};

// Conversions shared with the berth pull service.
void ImageToProto(const metadata::Image& im, containerd::services::images::v1::Image* out);
metadata::Image ImageFromProto(const containerd::services::images::v1::Image& in);

}  // namespace berth::daemon
