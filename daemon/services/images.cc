#include "daemon/services/images.h"

#include "containerd/events/image.pb.h"
#include "daemon/call.h"
#include "daemon/publish.h"
#include "daemon/services/proto_time.h"

namespace berth::daemon {

namespace imv1 = containerd::services::images::v1;

void ImageToProto(const metadata::Image& im, imv1::Image* out) {
  out->set_name(im.name);
  for (const auto& [k, v] : im.labels) (*out->mutable_labels())[k] = v;
  auto* t = out->mutable_target();
  t->set_media_type(im.target.media_type);
  t->set_digest(im.target.digest);
  t->set_size(im.target.size);
  for (const auto& [k, v] : im.target.annotations) (*t->mutable_annotations())[k] = v;
  ToTimestamp(im.created_at, out->mutable_created_at());
  ToTimestamp(im.updated_at, out->mutable_updated_at());
}

metadata::Image ImageFromProto(const imv1::Image& in) {
  metadata::Image im;
  im.name = in.name();
  for (const auto& [k, v] : in.labels()) im.labels[k] = v;
  im.target.media_type = in.target().media_type();
  im.target.digest = in.target().digest();
  im.target.size = in.target().size();
  for (const auto& [k, v] : in.target().annotations()) im.target.annotations[k] = v;
  im.created_at = FromTimestamp(in.has_created_at(), in.created_at());
  im.updated_at = FromTimestamp(in.has_updated_at(), in.updated_at());
  return im;
}

namespace {
template <typename Ev>
void PublishImageEvent(Daemon& d, const std::string& ns, const char* topic, const metadata::Image& im) {
  Ev ev;
  ev.set_name(im.name);
  for (const auto& [k, v] : im.labels) (*ev.mutable_labels())[k] = v;
  PublishEvent(*d.events, ns, topic, ev);
}
}  // namespace

grpc::ServerUnaryReactor* ImagesService::Get(grpc::CallbackServerContext* ctx, const imv1::GetImageRequest* req,
                                             imv1::GetImageResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::Image im, d_.images->Get(ns, req->name()));
    ImageToProto(im, resp->mutable_image());
    return Status();
  });
}

grpc::ServerUnaryReactor* ImagesService::List(grpc::CallbackServerContext* ctx, const imv1::ListImagesRequest* req,
                                              imv1::ListImagesResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(auto all, d_.images->List(ns, {req->filters().begin(), req->filters().end()}));
    for (const auto& im : all) ImageToProto(im, resp->add_images());
    return Status();
  });
}

grpc::ServerUnaryReactor* ImagesService::Create(grpc::CallbackServerContext* ctx,
                                                const imv1::CreateImageRequest* req,
                                                imv1::CreateImageResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::Image im, d_.images->Create(ns, ImageFromProto(req->image())));
    ImageToProto(im, resp->mutable_image());
    PublishImageEvent<imv1::ImageCreate>(d_, ns, "/images/create", im);
    return Status();
  });
}

grpc::ServerUnaryReactor* ImagesService::Update(grpc::CallbackServerContext* ctx,
                                                const imv1::UpdateImageRequest* req,
                                                imv1::UpdateImageResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
    ASSIGN_OR_RETURN(metadata::Image im, d_.images->Update(ns, ImageFromProto(req->image()), paths));
    ImageToProto(im, resp->mutable_image());
    PublishImageEvent<imv1::ImageUpdate>(d_, ns, "/images/update", im);
    // A new target may leave the old one unreferenced.
    d_.gc->Schedule();
    return Status();
  });
}

grpc::ServerUnaryReactor* ImagesService::Delete(grpc::CallbackServerContext* ctx,
                                                const imv1::DeleteImageRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    RETURN_IF_ERROR(d_.images->Delete(ns, req->name()));
    imv1::ImageDelete ev;
    ev.set_name(req->name());
    PublishEvent(*d_.events, ns, "/images/delete", ev);
    if (req->sync()) {
      ASSIGN_OR_RETURN(auto stats, d_.gc->CollectNow());
      (void)stats;
    } else {
      d_.gc->Schedule();
    }
    return Status();
  });
}

}  // namespace berth::daemon
