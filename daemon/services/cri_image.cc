// runtime.v1.ImageService over cri::ImageManager.
#include <nlohmann/json.hpp>

#include "daemon/call.h"
#include "daemon/services/cri.h"

namespace berth::daemon {

namespace rv1 = ::runtime::v1;

namespace {

void ToProto(const cri::Image& im, rv1::Image* out) {
  out->set_id(im.id);
  for (const auto& t : im.repo_tags) out->add_repo_tags(t);
  for (const auto& d : im.repo_digests) out->add_repo_digests(d);
  out->set_size(im.size);
  if (im.uid) out->mutable_uid()->set_value(*im.uid);
  out->set_username(im.username);
}

}  // namespace

grpc::ServerUnaryReactor* CriImageService::ListImages(grpc::CallbackServerContext* ctx,
                                                      const rv1::ListImagesRequest* req,
                                                      rv1::ListImagesResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> Status {
    std::string only;
    if (req->has_filter() && !req->filter().image().image().empty()) {
      auto im = c_->images->Find(req->filter().image().image());
      if (absl::IsNotFound(im.status())) return Status();
      RETURN_IF_ERROR(im.status());
      only = im->id;
    }
    ASSIGN_OR_RETURN(auto all, c_->images->List());
    for (const auto& im : all) {
      if (only.empty() || im.id == only) ToProto(im, resp->add_images());
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* CriImageService::ImageStatus(grpc::CallbackServerContext* ctx,
                                                       const rv1::ImageStatusRequest* req,
                                                       rv1::ImageStatusResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> Status {
    auto im = c_->images->Find(req->image().image());
    // An unknown image is an empty answer, not an error (CRI).
    if (absl::IsNotFound(im.status())) return Status();
    RETURN_IF_ERROR(im.status());
    ToProto(*im, resp->mutable_image());
    if (req->verbose()) {
      nlohmann::json info;
      info["chainID"] = im->chain_id;
      info["imageSpec"] = nlohmann::json::parse(im->config_json, nullptr, false);
      (*resp->mutable_info())["info"] = info.dump();
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* CriImageService::PullImage(grpc::CallbackServerContext* ctx,
                                                     const rv1::PullImageRequest* req,
                                                     rv1::PullImageResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> Status {
    cri::Auth auth;
    if (req->has_auth()) {
      const auto& a = req->auth();
      auth = {a.username(), a.password(), a.auth(), a.server_address(), a.identity_token(), a.registry_token()};
    }
    ASSIGN_OR_RETURN(std::string id, c_->images->Pull(req->image().image(), auth));
    resp->set_image_ref(id);
    return Status();
  });
}

grpc::ServerUnaryReactor* CriImageService::RemoveImage(grpc::CallbackServerContext* ctx,
                                                       const rv1::RemoveImageRequest* req,
                                                       rv1::RemoveImageResponse*) {
  return RunUnary(ctx, *c_->d.pool, [this, req]() -> Status {
    RETURN_IF_ERROR(c_->images->Remove(req->image().image()));
    c_->d.gc->Schedule();
    return Status();
  });
}

grpc::ServerUnaryReactor* CriImageService::ImageFsInfo(grpc::CallbackServerContext* ctx,
                                                       const rv1::ImageFsInfoRequest*,
                                                       rv1::ImageFsInfoResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, resp]() -> Status {
    ASSIGN_OR_RETURN(cri::FsUsage u, c_->images->FsInfo());
    auto* fs = resp->add_image_filesystems();
    fs->set_timestamp(u.timestamp_ns);
    fs->mutable_fs_id()->set_mountpoint(u.mountpoint);
    fs->mutable_used_bytes()->set_value(u.used_bytes);
    fs->mutable_inodes_used()->set_value(u.inodes_used);
    return Status();
  });
}

}  // namespace berth::daemon
