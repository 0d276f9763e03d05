// runtime.v1.ImageService over cri::ImageManager.
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "daemon/call.h"
#include "daemon/puller.h"
#include "daemon/services/cri.h"
#include "remotes/reference.h"

namespace berth::daemon {

namespace rv1 = ::runtime::v1;

namespace {

// containerd's CRI talks plain HTTP to registries on the local host (docker.IsLocalhost).
bool IsLocalHost(const std::string& domain) {
  std::string host = domain;
  if (!host.empty() && host[0] == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto c = host.rfind(':'); c != std::string::npos) {
    host.resize(c);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void ToProto(const cri::Image& im, rv1::Image* out) {
  out->set_id(im.id);
  for (const auto& t : im.repo_tags) out->add_repo_tags(t);
  for (const auto& d : im.repo_digests) out->add_repo_digests(d);
  out->set_size(im.size);
  if (im.uid) out->mutable_uid()->set_value(*im.uid);
  out->set_username(im.username);
}

}  // namespace

CriCore::CriCore(Daemon& dd) : d(dd) {
  cri::ImageManager::Deps deps;
  deps.images = d.images.get();
  deps.content = d.content.get();
  deps.snapshotter = d.config.cri.snapshotter;
  if (auto it = d.snapshotters.find(deps.snapshotter); it != d.snapshotters.end()) {
    deps.snapshots = it->second.get();
  }
  deps.snapshotter_root = JoinPath(d.config.root, "io.containerd.snapshotter.v1." + deps.snapshotter);
  deps.pull = [this](const std::string& ref, const std::string& user,
                     const std::string& pass) -> StatusOr<metadata::Descriptor> {
    PullRequest req;
    req.ns = cri::kNamespace;
    req.ref = ref;
    req.unpack = true;
    req.snapshotter = d.config.cri.snapshotter;
    req.labels[cri::kImageLabel] = cri::kImageLabelManaged;
    req.username = user;
    req.password = pass;
    ASSIGN_OR_RETURN(remotes::Reference parsed, remotes::ParseReference(ref));
    req.plain_http = IsLocalHost(parsed.domain);
    ASSIGN_OR_RETURN(PullResult res, RunPull(d, req, {}, [] { return false; }));
    return res.image.target;
  };
  images = std::make_unique<cri::ImageManager>(std::move(deps));
}

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
