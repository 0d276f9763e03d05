#include "daemon/services/leases.h"

#include "daemon/call.h"
#include "daemon/services/proto_time.h"

namespace berth::daemon {

namespace lsv1 = containerd::services::leases::v1;

namespace {
void ToProto(const metadata::Lease& l, lsv1::Lease* out) {
  out->set_id(l.id);
  ToTimestamp(l.created_at, out->mutable_created_at());
  for (const auto& [k, v] : l.labels) (*out->mutable_labels())[k] = v;
}
metadata::LeaseResource FromProto(const lsv1::Resource& r) { return {r.id(), r.type()}; }
}  // namespace

grpc::ServerUnaryReactor* LeasesService::Create(grpc::CallbackServerContext* ctx, const lsv1::CreateRequest* req,
                                                lsv1::CreateResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    metadata::Lease in;
    in.id = req->id();
    for (const auto& [k, v] : req->labels()) in.labels[k] = v;
    ASSIGN_OR_RETURN(metadata::Lease l, d_.leases->Create(ns, in));
    ToProto(l, resp->mutable_lease());
    return Status();
  });
}

grpc::ServerUnaryReactor* LeasesService::Delete(grpc::CallbackServerContext* ctx, const lsv1::DeleteRequest* req,
                                                google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    RETURN_IF_ERROR(d_.leases->Delete(ns, req->id()));
    if (req->sync()) {
      ASSIGN_OR_RETURN(auto stats, d_.gc->CollectNow());
      (void)stats;
    } else {
      d_.gc->Schedule();
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* LeasesService::List(grpc::CallbackServerContext* ctx, const lsv1::ListRequest* req,
                                              lsv1::ListResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(auto all, d_.leases->List(ns, {req->filters().begin(), req->filters().end()}));
    for (const auto& l : all) ToProto(l, resp->add_leases());
    return Status();
  });
}

grpc::ServerUnaryReactor* LeasesService::AddResource(grpc::CallbackServerContext* ctx,
                                                     const lsv1::AddResourceRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    return d_.leases->AddResource(ns, req->id(), FromProto(req->resource()));
  });
}

grpc::ServerUnaryReactor* LeasesService::DeleteResource(grpc::CallbackServerContext* ctx,
                                                        const lsv1::DeleteResourceRequest* req,
                                                        google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    RETURN_IF_ERROR(d_.leases->DeleteResource(ns, req->id(), FromProto(req->resource())));
    d_.gc->Schedule();
    return Status();
  });
}

grpc::ServerUnaryReactor* LeasesService::ListResources(grpc::CallbackServerContext* ctx,
                                                       const lsv1::ListResourcesRequest* req,
                                                       lsv1::ListResourcesResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(auto all, d_.leases->ListResources(ns, req->id()));
    for (const auto& r : all) {
      auto* out = resp->add_resources();
      out->set_id(r.id);
      out->set_type(r.type);
    }
    return Status();
  });
}

}  // namespace berth::daemon
