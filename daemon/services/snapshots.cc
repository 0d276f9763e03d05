#include "daemon/services/snapshots.h"
#include "daemon/services/proto_time.h"

#include <boost/asio/post.hpp>
#include <mutex>

#include "common/filters.h"
#include "containerd/events/snapshot.pb.h"
#include "daemon/call.h"
#include "daemon/publish.h"

namespace berth::daemon {
namespace {

namespace sv1 = containerd::services::snapshots::v1;
using snapshotter::Info;
using snapshotter::Kind;

StatusOr<metadata::SnapshotStore*> Lookup(Daemon& d, const std::string& name) {
  auto it = d.snapshotters.find(name);
  if (name.empty() || it == d.snapshotters.end()) {
    return absl::InvalidArgumentError(StrCat("snapshotter not loaded: ", name, ": invalid argument"));
  }
  return it->second.get();
}

void ToProto(const Info& i, sv1::Info* out) {
  out->set_name(i.name);
  out->set_parent(i.parent);
  out->set_kind(static_cast<sv1::Kind>(static_cast<int>(i.kind)));
  ToTimestamp(i.created_at, out->mutable_created_at());
  ToTimestamp(i.updated_at, out->mutable_updated_at());
  for (const auto& [k, v] : i.labels) (*out->mutable_labels())[k] = v;
}

template <typename Repeated>
void MountsToProto(const std::vector<snapshotter::Mount>& ms, Repeated* out) {
  for (const auto& m : ms) {
    auto* p = out->Add();
    p->set_type(m.type);
    p->set_source(m.source);
    p->set_target(m.target);
    for (const auto& o : m.options) p->add_options(o);
  }
}

snapshotter::Labels LabelsOf(const google::protobuf::Map<std::string, std::string>& m) {
  return snapshotter::Labels(m.begin(), m.end());
}

const char* KindFilterName(Kind k) {
  switch (k) {
    case Kind::kActive:
      return "active";
    case Kind::kView:
      return "view";
    case Kind::kCommitted:
      return "committed";
    default:
      return nullptr;
  }
}

// Streams the snapshots of one namespace in batches, as containerd's service does (100 a message).
class ListReactor final : public grpc::ServerWriteReactor<sv1::ListSnapshotsResponse> {
 public:
  ListReactor(Daemon& d, grpc::CallbackServerContext* ctx, const sv1::ListSnapshotsRequest* req) : d_(d) {
    boost::asio::post(*d_.pool, [this, ctx, req] { Load(ctx, req); });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Load(grpc::CallbackServerContext* ctx, const sv1::ListSnapshotsRequest* req) {
    Status s = [&]() -> Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
      ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
      ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll({req->filters().begin(), req->filters().end()}));
      return store->Walk(ns, [&](const Info& i) {
        auto adaptor = [&i](const FieldPath& p) -> std::optional<std::string> {
          if (p.empty()) return std::nullopt;
          if (p[0] == "name") return i.name;
          if (p[0] == "parent") return i.parent;
          if (p[0] == "kind") {
            const char* kind = KindFilterName(i.kind);
            if (kind == nullptr) return std::nullopt;
            return std::string(kind);
          }
          if (p[0] == "labels") return LookupLabel(i.labels, p);
          return std::nullopt;
        };
        if (filter.Match(adaptor)) {
          if (batches_.empty() || batches_.back().info_size() >= 100) batches_.emplace_back();
          ToProto(i, batches_.back().add_info());
        }
        return Status();
      });
    }();
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    Next();
  }
  void Next() {
    if (next_ >= batches_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&batches_[next_++]);
  }

  Daemon& d_;
  std::vector<sv1::ListSnapshotsResponse> batches_;
  size_t next_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* SnapshotsService::Prepare(grpc::CallbackServerContext* ctx,
                                                    const sv1::PrepareSnapshotRequest* req,
                                                    sv1::PrepareSnapshotResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    ASSIGN_OR_RETURN(auto mounts,
                     store->Prepare(ns, LeaseFromContext(ctx), req->key(), req->parent(), LabelsOf(req->labels())));
    MountsToProto(mounts, resp->mutable_mounts());
    containerd::events::SnapshotPrepare ev;
    ev.set_key(req->key());
    ev.set_parent(req->parent());
    PublishEvent(*d_.events, ns, "/snapshot/prepare", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::View(grpc::CallbackServerContext* ctx, const sv1::ViewSnapshotRequest* req,
                                                 sv1::ViewSnapshotResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    ASSIGN_OR_RETURN(auto mounts,
                     store->View(ns, LeaseFromContext(ctx), req->key(), req->parent(), LabelsOf(req->labels())));
    MountsToProto(mounts, resp->mutable_mounts());
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Mounts(grpc::CallbackServerContext* ctx, const sv1::MountsRequest* req,
                                                   sv1::MountsResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    ASSIGN_OR_RETURN(auto mounts, store->Mounts(ns, req->key()));
    MountsToProto(mounts, resp->mutable_mounts());
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Commit(grpc::CallbackServerContext* ctx,
                                                   const sv1::CommitSnapshotRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    RETURN_IF_ERROR(store->Commit(ns, LeaseFromContext(ctx), req->name(), req->key(), LabelsOf(req->labels())));
    containerd::events::SnapshotCommit ev;
    ev.set_key(req->key());
    ev.set_name(req->name());
    PublishEvent(*d_.events, ns, "/snapshot/commit", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Remove(grpc::CallbackServerContext* ctx,
                                                   const sv1::RemoveSnapshotRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    RETURN_IF_ERROR(store->Remove(ns, req->key()));
    containerd::events::SnapshotRemove ev;
    ev.set_key(req->key());
    PublishEvent(*d_.events, ns, "/snapshot/remove", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Stat(grpc::CallbackServerContext* ctx, const sv1::StatSnapshotRequest* req,
                                                 sv1::StatSnapshotResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    ASSIGN_OR_RETURN(Info info, store->Stat(ns, req->key()));
    ToProto(info, resp->mutable_info());
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Update(grpc::CallbackServerContext* ctx,
                                                   const sv1::UpdateSnapshotRequest* req,
                                                   sv1::UpdateSnapshotResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    Info in;
    in.name = req->info().name();
    in.labels = LabelsOf(req->info().labels());
    std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
    ASSIGN_OR_RETURN(Info out, store->Update(ns, in, paths));
    ToProto(out, resp->mutable_info());
    return Status();
  });
}

grpc::ServerWriteReactor<sv1::ListSnapshotsResponse>* SnapshotsService::List(grpc::CallbackServerContext* ctx,
                                                                             const sv1::ListSnapshotsRequest* req) {
  return new ListReactor(d_, ctx, req);
}

grpc::ServerUnaryReactor* SnapshotsService::Usage(grpc::CallbackServerContext* ctx, const sv1::UsageRequest* req,
                                                  sv1::UsageResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    ASSIGN_OR_RETURN(snapshotter::Usage u, store->GetUsage(ns, req->key()));
    resp->set_size(u.size);
    resp->set_inodes(u.inodes);
    return Status();
  });
}

grpc::ServerUnaryReactor* SnapshotsService::Cleanup(grpc::CallbackServerContext* ctx, const sv1::CleanupRequest* req,
                                                    google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    (void)ns;
    ASSIGN_OR_RETURN(metadata::SnapshotStore * store, Lookup(d_, req->snapshotter()));
    return store->Cleanup();
  });
}

}  // namespace berth::daemon
