#include "daemon/services/basic.h"

#include <unistd.h>

#include "common/filters.h"
#include "common/fs.h"
#include "containerd/events/namespace.pb.h"
#include "daemon/call.h"
#include "daemon/publish.h"
#include "runtime/shim_binary.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_REVISION
#define BERTH_REVISION "unknown"
#endif

namespace berth::daemon {

namespace nsv1 = containerd::services::namespaces::v1;
namespace isv1 = containerd::services::introspection::v1;

grpc::ServerUnaryReactor* VersionService::Version(grpc::CallbackServerContext* ctx, const google::protobuf::Empty*,
                                                  containerd::services::version::v1::VersionResponse* resp) {
  resp->set_version(BERTH_VERSION);
  resp->set_revision(BERTH_REVISION);
  return FinishNow(ctx, Status());
}

namespace {

std::string SelfExe() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  return n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
}

// Where a runtime's shim resolves to now, or why it does not.
std::string ShimExport(const Config& cfg, const std::string& runtime) {
  auto bin = runtime::ResolveShimBinary(runtime, cfg.RuntimeShims(), SelfExe());
  return bin.ok() ? *bin : StrCat("unavailable: ", bin.status().message());
}

// The runtime plugins' exports: the runtime table (runtime name -> shim binary), as containerd
// exports a plugin's settings.
void RuntimeExports(const Config& cfg, const PluginInfo& p, isv1::Plugin* out) {
  auto& ex = *out->mutable_exports();
  if (p.type == "io.containerd.runtime.v2" && p.id == "task") {
    for (const auto& [name, r] : cfg.runtimes) ex[name] = ShimExport(cfg, name);
    ex["default"] = cfg.default_runtime;
  } else if (p.type == "io.containerd.content.v1" && p.id == "content") {
    // containerd exports the content store's root; the berth CLI finds berthd's root from it.
    ex["root"] = JoinPath(cfg.root, "io.containerd.content.v1.content");
  } else if (p.type == "io.containerd.runtime.v1" && p.id == "linux") {
    ex["shim"] = ShimExport(cfg, kRuntimeLinuxV1);
    ex["runtime"] = cfg.linux_v1.runtime;
    if (!cfg.linux_v1.runtime_root.empty()) ex["runtime_root"] = cfg.linux_v1.runtime_root;
  }
}

}  // namespace

grpc::ServerUnaryReactor* IntrospectionService::Plugins(grpc::CallbackServerContext* ctx,
                                                        const isv1::PluginsRequest* req, isv1::PluginsResponse* resp) {
  auto filter = Filter::ParseAll({req->filters().begin(), req->filters().end()});
  if (!filter.ok()) return FinishNow(ctx, filter.status());
  for (const auto& p : d_.plugins) {
    auto adaptor = [&p](const FieldPath& path) -> std::optional<std::string> {
      if (path.empty()) return std::nullopt;  // containerd's adaptPlugin
      if (path[0] == "type") return NonEmptyField(p.type);
      if (path[0] == "id") return NonEmptyField(p.id);
      return std::nullopt;
    };
    if (!filter->Match(adaptor)) continue;
    auto* out = resp->add_plugins();
    out->set_type(p.type);
    out->set_id(p.id);
    for (const auto& r : p.requires_) out->add_requires_(r);
    RuntimeExports(d_.config, p, out);
    auto* plat = out->add_platforms();
    plat->set_os("linux");
    plat->set_architecture("amd64");
  }
  return FinishNow(ctx, Status());
}

grpc::ServerUnaryReactor* IntrospectionService::Server(grpc::CallbackServerContext* ctx, const google::protobuf::Empty*,
                                                       isv1::ServerResponse* resp) {
  resp->set_uuid(d_.uuid);
  return FinishNow(ctx, Status());
}

namespace {
void ToProto(const metadata::Namespace& ns, nsv1::Namespace* out) {
  out->set_name(ns.name);
  for (const auto& [k, v] : ns.labels) (*out->mutable_labels())[k] = v;
}
metadata::Namespace FromProto(const nsv1::Namespace& in) {
  metadata::Namespace ns{in.name(), {}};
  for (const auto& [k, v] : in.labels()) ns.labels[k] = v;
  return ns;
}
}  // namespace

grpc::ServerUnaryReactor* NamespacesService::Get(grpc::CallbackServerContext* ctx, const nsv1::GetNamespaceRequest* req,
                                                 nsv1::GetNamespaceResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, req, resp]() -> Status {
    ASSIGN_OR_RETURN(metadata::Namespace ns, d_.namespaces->Get(req->name()));
    ToProto(ns, resp->mutable_namespace_());
    return Status();
  });
}

grpc::ServerUnaryReactor* NamespacesService::List(grpc::CallbackServerContext* ctx,
                                                  const nsv1::ListNamespacesRequest* req,
                                                  nsv1::ListNamespacesResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, req, resp]() -> Status {
    ASSIGN_OR_RETURN(Filter filter, Filter::Parse(req->filter()));
    ASSIGN_OR_RETURN(auto all, d_.namespaces->List());
    for (const auto& ns : all) {
      auto adaptor = [&ns](const FieldPath& p) -> std::optional<std::string> {
        if (p.empty()) return std::nullopt;
        if (p[0] == "name") return ns.name;
        if (p[0] == "labels") return LookupLabel(ns.labels, p);
        return std::nullopt;
      };
      if (filter.Match(adaptor)) ToProto(ns, resp->add_namespaces());
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* NamespacesService::Create(grpc::CallbackServerContext* ctx,
                                                    const nsv1::CreateNamespaceRequest* req,
                                                    nsv1::CreateNamespaceResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, req, resp]() -> Status {
    ASSIGN_OR_RETURN(metadata::Namespace ns, d_.namespaces->Create(FromProto(req->namespace_())));
    ToProto(ns, resp->mutable_namespace_());
    containerd::events::NamespaceCreate ev;
    ev.set_name(ns.name);
    for (const auto& [k, v] : ns.labels) (*ev.mutable_labels())[k] = v;
    PublishEvent(*d_.events, ns.name, "/namespaces/create", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* NamespacesService::Update(grpc::CallbackServerContext* ctx,
                                                    const nsv1::UpdateNamespaceRequest* req,
                                                    nsv1::UpdateNamespaceResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, req, resp]() -> Status {
    std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
    ASSIGN_OR_RETURN(metadata::Namespace ns, d_.namespaces->Update(FromProto(req->namespace_()), paths));
    ToProto(ns, resp->mutable_namespace_());
    containerd::events::NamespaceUpdate ev;
    ev.set_name(ns.name);
    for (const auto& [k, v] : ns.labels) (*ev.mutable_labels())[k] = v;
    PublishEvent(*d_.events, ns.name, "/namespaces/update", ev);
    return Status();
  });
}

grpc::ServerUnaryReactor* NamespacesService::Delete(grpc::CallbackServerContext* ctx,
                                                    const nsv1::DeleteNamespaceRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, req]() -> Status {
    RETURN_IF_ERROR(d_.namespaces->Delete(req->name()));
    containerd::events::NamespaceDelete ev;
    ev.set_name(req->name());
    PublishEvent(*d_.events, req->name(), "/namespaces/delete", ev);
    return Status();
  });
}

}  // namespace berth::daemon
