#include "daemon/services/containers.h"
#include "daemon/services/proto_time.h"

#include <deque>
#include <mutex>

#include "common/filters.h"
#include "containerd/events/container.pb.h"
#include "daemon/call.h"
#include "daemon/publish.h"
#include "metadata/containers.h"

namespace berth::daemon {

namespace cv1 = containerd::services::containers::v1;

namespace {

void AnyToProto(const metadata::AnyValue& a, google::protobuf::Any* out) {
  out->set_type_url(a.type_url);
  out->set_value(a.value);
}

metadata::AnyValue AnyFromProto(const google::protobuf::Any& a) { return {a.type_url(), a.value()}; }

void ToProto(const metadata::Container& c, cv1::Container* out) {
  out->set_id(c.id);
  for (const auto& [k, v] : c.labels) (*out->mutable_labels())[k] = v;
  out->set_image(c.image);
  auto* rt = out->mutable_runtime();
  rt->set_name(c.runtime_name);
  if (c.runtime_options) AnyToProto(*c.runtime_options, rt->mutable_options());
  if (c.spec) AnyToProto(*c.spec, out->mutable_spec());
  out->set_snapshotter(c.snapshotter);
  out->set_snapshot_key(c.snapshot_key);
  ToTimestamp(c.created_at, out->mutable_created_at());
  ToTimestamp(c.updated_at, out->mutable_updated_at());
  for (const auto& [k, v] : c.extensions) AnyToProto(v, &(*out->mutable_extensions())[k]);
}

metadata::Container FromProto(const cv1::Container& in) {
  metadata::Container c;
  c.id = in.id();
  for (const auto& [k, v] : in.labels()) c.labels[k] = v;
  c.image = in.image();
  if (in.has_runtime()) {
    c.runtime_name = in.runtime().name();
    if (in.runtime().has_options()) c.runtime_options = AnyFromProto(in.runtime().options());
  }
  if (in.has_spec()) c.spec = AnyFromProto(in.spec());
  c.snapshotter = in.snapshotter();
  c.snapshot_key = in.snapshot_key();
  for (const auto& [k, v] : in.extensions()) c.extensions[k] = AnyFromProto(v);
  return c;
}

StatusOr<std::vector<metadata::Container>> ListFiltered(Daemon& d, grpc::CallbackServerContext* ctx,
                                                        const cv1::ListContainersRequest& req) {
  ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
  ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll({req.filters().begin(), req.filters().end()}));
  return d.containers->List(ns, filter);
}

// Streams the containers one message at a time; the listing itself runs on the pool.
class ListStreamReactor final : public grpc::ServerWriteReactor<cv1::ListContainerMessage> {
 public:
  ListStreamReactor(Daemon& d, grpc::CallbackServerContext* ctx, const cv1::ListContainersRequest* req) {
    boost::asio::post(*d.pool, [this, &d, ctx, req] {
      auto list = ListFiltered(d, ctx, *req);
      if (!list.ok()) {
        Finish(ToGrpcStatus(list.status()));
        return;
      }
      for (const auto& c : *list) {
        cv1::ListContainerMessage m;
        ToProto(c, m.mutable_container());
        pending_.push_back(std::move(m));
      }
      NextWrite();
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    pending_.pop_front();
    NextWrite();
  }
  void OnDone() override { delete this; }

 private:
  void NextWrite() {
    if (pending_.empty()) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&pending_.front());
  }

  std::deque<cv1::ListContainerMessage> pending_;
};

}  // namespace

grpc::ServerUnaryReactor* ContainersService::Get(grpc::CallbackServerContext* ctx, const cv1::GetContainerRequest* req,
                                                 cv1::GetContainerResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    if (req->id().empty()) return absl::InvalidArgumentError("container id must not be empty");
    ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Get(ns, req->id()));
    ToProto(c, resp->mutable_container());
    return Status();
  });
}

grpc::ServerUnaryReactor* ContainersService::List(grpc::CallbackServerContext* ctx,
                                                  const cv1::ListContainersRequest* req,
                                                  cv1::ListContainersResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(auto list, ListFiltered(d_, ctx, *req));
    for (const auto& c : list) ToProto(c, resp->add_containers());
    return Status();
  });
}

grpc::ServerWriteReactor<cv1::ListContainerMessage>* ContainersService::ListStream(
    grpc::CallbackServerContext* ctx, const cv1::ListContainersRequest* req) {
  return new ListStreamReactor(d_, ctx, req);
}

grpc::ServerUnaryReactor* ContainersService::Create(grpc::CallbackServerContext* ctx,
                                                    const cv1::CreateContainerRequest* req,
                                                    cv1::CreateContainerResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Create(ns, FromProto(req->container())));
    ToProto(c, resp->mutable_container());
    containerd::events::ContainerCreate ev;
    ev.set_id(c.id);
    ev.set_image(c.image);
    ev.mutable_runtime()->set_name(c.runtime_name);
    if (c.runtime_options) AnyToProto(*c.runtime_options, ev.mutable_runtime()->mutable_options());
    PublishEvent(*d_.events, ns, "/containers/create", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* ContainersService::Update(grpc::CallbackServerContext* ctx,
                                                    const cv1::UpdateContainerRequest* req,
                                                    cv1::UpdateContainerResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    if (req->container().id().empty()) return absl::InvalidArgumentError("must specify a container id");
    std::vector<std::string> paths;
    if (req->has_update_mask()) paths.assign(req->update_mask().paths().begin(), req->update_mask().paths().end());
    ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Update(ns, FromProto(req->container()), paths));
    ToProto(c, resp->mutable_container());
    PublishContainerUpdate(*d_.events, ns, c);
    return Status();
  });
}

grpc::ServerUnaryReactor* ContainersService::Delete(grpc::CallbackServerContext* ctx,
                                                    const cv1::DeleteContainerRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    if (req->id().empty()) return absl::InvalidArgumentError("container id must not be empty");
    RETURN_IF_ERROR(d_.containers->Delete(ns, req->id()));
    containerd::events::ContainerDelete ev;
    ev.set_id(req->id());
    PublishEvent(*d_.events, ns, "/containers/delete", ev);
    return Status();
  });
}

}  // namespace berth::daemon
