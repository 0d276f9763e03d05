// berth create [FLAGS] IMAGE [COMMAND [ARG...]], and the container-making half of `run`.
//
// The image is pulled per --pull; a snapshot is prepared on its chain ID under a short-lived
// lease (GC cannot take it before the container record references it); user names are looked
// up in the image; /etc/hosts, resolv.conf and hostname are written to the container's
// directory; the spec is built client-side (spec_build.h) and the container record created with
// the labels later commands read (log file, stop signal and timeout, restart policy).
#include "cmd/berth/create.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_join.h"
#include "cmd/berth/health.h"
#include "cmd/berth/mounts.h"
#include "cmd/berth/net_internal.h"
#include "cmd/berth/paths.h"
#include "cmd/berth/spec_build.h"
#include "cmd/berth/units.h"
#include "cmd/berth/user.h"
#include "cmd/berth/volumes.h"
#include "common/identifiers.h"
#include "compose/loader.h"
#include "common/scope_exit.h"
#include "common/unique.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"

namespace berth::cli {
namespace {

namespace lsv1 = containerd::services::leases::v1;
namespace snv1 = containerd::services::snapshots::v1;

// A lease that keeps what is made under it for an hour at most; deleted on destruction.
class TempLease {
 public:
  explicit TempLease(const Globals& g) : g_(g) {}
  Status Create() {
    auto stub = lsv1::Leases::NewStub(Connect(g_));
    auto ctx = NewContext(g_);
    lsv1::CreateRequest req;
    req.set_id(StrCat("berth-run-", UniquePart()));
    time_t expire = time(nullptr) + 3600;
    char buf[32];
    tm t{};
    gmtime_r(&expire, &t);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
    (*req.mutable_labels())["containerd.io/gc.expire"] = buf;
    lsv1::CreateResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->Create(ctx.get(), req, &resp)));
    id_ = resp.lease().id();
    return Status();
  }
  const std::string& id() const { return id_; }
  ~TempLease() {
    if (id_.empty()) return;
    auto stub = lsv1::Leases::NewStub(Connect(g_));
    auto ctx = NewContext(g_);
    lsv1::DeleteRequest req;
    req.set_id(id_);
    google::protobuf::Empty resp;
    (void)stub->Delete(ctx.get(), req, &resp);
  }

 private:
  const Globals& g_;
  std::string id_;
};

StatusOr<ResolvedImage> ImageFor(const Globals& g, const ContainerFlags& f, std::ostream& progress) {
  auto pull = [&]() -> StatusOr<ResolvedImage> {
    PullOptions po;
    po.ref = f.image;
    po.plain_http = f.plain_http;
    po.snapshotter = f.snapshotter;
    po.platform = f.platform;
    std::string pulled;
    RETURN_IF_ERROR(FromGrpc(PullImage(g, po, progress, &progress == &std::cerr && isatty(2), &pulled)));
    return ResolveImage(g, pulled.empty() ? f.image : pulled, f.platform);
  };
  if (f.pull == "always") return pull();
  auto image = ResolveImage(g, f.image, f.platform);
  if (!absl::IsNotFound(image.status())) return image;
  if (f.pull == "never") {
    return absl::NotFoundError(StrCat("image ", f.image, " is not here and --pull=never: pull it first"));
  }
  progress << "Unable to find image '" << f.image << "' locally\n";
  return pull();
}

std::vector<snapshotter::Mount> ToSnapshotterMounts(const std::vector<containerd::types::Mount>& in) {
  std::vector<snapshotter::Mount> out;
  for (const auto& m : in) {
    out.push_back({m.type(), m.source(), "", {m.options().begin(), m.options().end()}});
  }
  return out;
}

// The health check of --health-* over the image's HEALTHCHECK (config.Healthcheck: Test,
// Interval, Timeout, StartPeriod in ns, Retries); nullopt for none or NONE.
StatusOr<std::optional<HealthConfig>> HealthFromFlags(const ContainerFlags& f, const std::string& config_json) {
  if (f.no_healthcheck) return std::optional<HealthConfig>();
  HealthConfig h;
  try {
    auto j = nlohmann::json::parse(config_json);
    if (j.contains("config") && j["config"].is_object() && j["config"].contains("Healthcheck")) {
      const auto& hc = j["config"]["Healthcheck"];
      if (hc.contains("Test") && hc["Test"].is_array()) h.test = hc["Test"].get<std::vector<std::string>>();
      if (hc.value("Interval", int64_t{0}) > 0) h.interval_ns = hc["Interval"].get<int64_t>();
      if (hc.value("Timeout", int64_t{0}) > 0) h.timeout_ns = hc["Timeout"].get<int64_t>();
      if (hc.value("StartPeriod", int64_t{0}) > 0) h.start_period_ns = hc["StartPeriod"].get<int64_t>();
      if (hc.value("Retries", 0) > 0) h.retries = hc["Retries"].get<int>();
    }
  } catch (const nlohmann::json::exception&) {
    // An image config without a usable Healthcheck has none.
  }
  if (!f.health_test.empty()) h.test = f.health_test;
  if (!f.health_cmd.empty()) h.test = {"CMD-SHELL", f.health_cmd};
  for (auto [flag, value, out] : std::initializer_list<std::tuple<const char*, const std::string*, int64_t*>>{
           {"--health-interval", &f.health_interval, &h.interval_ns},
           {"--health-timeout", &f.health_timeout, &h.timeout_ns},
           {"--health-start-period", &f.health_start_period, &h.start_period_ns}}) {
    if (value->empty()) continue;
    auto d = compose::ParseDuration(*value);
    if (!d.ok()) return absl::InvalidArgumentError(StrCat(flag, ": ", d.status().message()));
    *out = *d;
  }
  if (f.health_retries > 0) h.retries = f.health_retries;
  if (h.test.empty() || h.test[0] == "NONE") return std::optional<HealthConfig>();
  if (h.test[0] != "CMD" && h.test[0] != "CMD-SHELL") {
    return absl::InvalidArgumentError(StrCat("health check test must start with CMD or CMD-SHELL, not ", h.test[0]));
  }
  return std::optional<HealthConfig>(h);
}

std::string ImageStopSignal(const std::string& config_json) {
  try {
    auto j = nlohmann::json::parse(config_json);
    if (j.contains("config") && j["config"].is_object() && j["config"].contains("StopSignal") &&
        j["config"]["StopSignal"].is_string()) {
      return j["config"]["StopSignal"];
    }
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

}  // namespace

StatusOr<CreatedContainer> CreateFromFlags(const Globals& g, const ContainerFlags& f, std::vector<std::string> args,
                                           std::ostream& progress) {
  if (!args.empty() && args[0] == "--") args.erase(args.begin());
  ASSIGN_OR_RETURN(RestartPolicy restart, ParseRestartPolicy(f.restart));
  if (restart.name != "no" && f.rm) {
    return absl::InvalidArgumentError("conflicting options: --restart and --rm (a removed container cannot restart)");
  }
  if (!f.cidfile.empty() && ::access(f.cidfile.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(StrCat("container id file ", f.cidfile, " exists: remove it first"));
  }
  if (!f.stop_signal.empty()) RETURN_IF_ERROR(ParseSignal(f.stop_signal).status());
  using LabelList = std::vector<std::pair<std::string, std::string>>;
  ASSIGN_OR_RETURN(LabelList labels, FlagLabels(f));
  std::string init_binary;
  if (f.init) {
    ASSIGN_OR_RETURN(init_binary, InitBinary());
  }

  ASSIGN_OR_RETURN(std::vector<NetworkAttachment> nets, ResolveAttachments(f));
  const bool host_network = nets.size() == 1 && nets[0].network == "host";
  const bool cni_network = !host_network && !(nets.size() == 1 && nets[0].network == "none");
  ASSIGN_OR_RETURN(ResolvedImage image, ImageFor(g, f, progress));
  ASSIGN_OR_RETURN(std::vector<PortPublish> ports, ResolvePorts(f, nets, image.config_json));
  const std::string id = f.name.empty() ? NewContainerId() : f.name;
  RETURN_IF_ERROR(ValidateIdentifier(id, "container name"));
  auto in_use = [&] { return absl::AlreadyExistsError(StrCat("the container name \"", id, "\" is already in use")); };

  CreatedContainer out;
  const std::string dir = ContainerDir(g, id);
  auto snaps = snv1::Snapshots::NewStub(Connect(g));
  bool snapshot_made = false, dir_made = false;
  std::vector<std::string> anonymous;
  ScopeExit undo([&] {
    for (const auto& v : anonymous) (void)RemoveVolume(g, v);
    if (snapshot_made) {
      auto ctx = NewContext(g);
      snv1::RemoveSnapshotRequest req;
      req.set_snapshotter(f.snapshotter);
      req.set_key(id);
      google::protobuf::Empty empty;
      (void)snaps->Remove(ctx.get(), req, &empty);
    }
    std::error_code ec;
    if (dir_made) std::filesystem::remove_all(dir, ec);
  });

  TempLease lease(g);
  RETURN_IF_ERROR(lease.Create());
  {
    auto ctx = NewContext(g);
    ctx->AddMetadata("containerd-lease", lease.id());
    snv1::PrepareSnapshotRequest req;
    req.set_snapshotter(f.snapshotter);
    req.set_key(id);
    req.set_parent(image.chain_id);
    snv1::PrepareSnapshotResponse prepared;
    grpc::Status s = snaps->Prepare(ctx.get(), req, &prepared);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return in_use();
    RETURN_IF_ERROR(FromGrpc(s));
    snapshot_made = true;
    out.rootfs.assign(prepared.mounts().begin(), prepared.mounts().end());
  }
  if (std::filesystem::exists(dir)) {
    // Left by a container that is gone (removed by another client): ours now.
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  dir_made = true;
  {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(StrCat("create ", dir, ": ", ec.message()));
  }

  SpecInputs in;
  in.ns = g.ns;
  in.id = id;
  in.image = image.config;
  in.args = args;
  in.hostname = !f.hostname.empty() ? f.hostname : id.size() == 64 ? id.substr(0, 12) : id;
  if (f.hostname.empty() && host_network) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) in.hostname = host;
  }
  in.init_binary = init_binary;
  in.etc_dir = dir;
  const std::string user = f.user.empty() ? image.config.user : f.user;
  if (!user.empty()) {
    ASSIGN_OR_RETURN(ResolvedUser u, ResolveUser(user, ToSnapshotterMounts(out.rootfs), dir));
    in.user = u.ids;
    in.additional_gids = u.additional_gids;
  }
  ASSIGN_OR_RETURN(ResolvedMounts mounts, ResolveMounts(g, f, image.config_json, ToSnapshotterMounts(out.rootfs), dir));
  anonymous = mounts.anonymous;
  in.mounts = mounts.oci;
  RETURN_IF_ERROR(WriteEtcFiles(f, dir, in.hostname, host_network));
  if (cni_network) {
    ASSIGN_OR_RETURN(auto extra, AddHostLines(f));
    RETURN_IF_ERROR(WriteHostsRecord(g, id, in.hostname, extra, nets));
  }
  ASSIGN_OR_RETURN(std::string spec, BuildSpec(f, in));
  {
    ASSIGN_OR_RETURN(std::string self, SelfExecutable());
    nlohmann::json j = nlohmann::json::parse(spec);
    RETURN_IF_ERROR(ApplyNetworkSpec(g, self, nets, ports, j));
    spec = j.dump();
  }

  std::error_code ec;
  std::filesystem::path log_dir = std::filesystem::path(g.log_dir) / g.ns;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) return absl::InternalError(StrCat("create ", log_dir.string(), ": ", ec.message()));
  out.log_path = (log_dir / (id + ".log")).string();

  cov1::Container& c = out.container;
  c.set_id(id);
  c.set_image(image.name);
  c.mutable_runtime()->set_name(f.runtime);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(spec);
  c.set_snapshotter(f.snapshotter);
  c.set_snapshot_key(id);
  auto& l = *c.mutable_labels();
  for (const auto& [k, v] : labels) l[k] = v;
  l[kLabelLogPath] = out.log_path;
  // Detached, nobody is left to remove it: berthd does when its process exits.
  if (f.detach && f.rm) l[kLabelAutoRemove] = "true";
  std::string stop_signal = f.stop_signal.empty() ? ImageStopSignal(image.config_json) : f.stop_signal;
  if (!stop_signal.empty()) l[kLabelStopSignal] = stop_signal;
  l[kLabelNetworks] = AttachmentsToJson(nets).dump();
  if (!ports.empty()) l[kLabelPorts] = PortsToJson(ports).dump();
  if (!anonymous.empty()) l[kLabelAnonymousVolumes] = absl::StrJoin(anonymous, ",");
  if (f.stop_timeout >= 0) l[kLabelStopTimeout] = std::to_string(f.stop_timeout);
  ASSIGN_OR_RETURN(std::optional<HealthConfig> health, HealthFromFlags(f, image.config_json));
  if (health) l[kLabelHealthConfig] = health->ToJson();
  if (restart.name != "no") {
    l[kLabelRestartPolicy] = f.restart;
    l[kRestartPolicyLabel] = restart.Label();
    l[kRestartLogUriLabel] = "file://" + out.log_path;
  }
  {
    auto containers = cov1::Containers::NewStub(Connect(g));
    auto ctx = NewContext(g);
    ctx->AddMetadata("containerd-lease", lease.id());
    cov1::CreateContainerRequest req;
    *req.mutable_container() = c;
    cov1::CreateContainerResponse resp;
    grpc::Status s = containers->Create(ctx.get(), req, &resp);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return in_use();
    RETURN_IF_ERROR(FromGrpc(s));
    c = resp.container();
  }
  undo.Dismiss();
  if (!f.cidfile.empty()) {
    std::ofstream cid(f.cidfile, std::ios::trunc);
    cid << id;
    if (!cid) std::cerr << "berth: writing " << f.cidfile << " failed\n";
  }
  return out;
}

StatusOr<std::vector<containerd::types::Mount>> SnapshotMounts(const Globals& g, const cov1::Container& c) {
  auto snaps = snv1::Snapshots::NewStub(Connect(g));
  auto ctx = NewContext(g);
  snv1::MountsRequest req;
  req.set_snapshotter(c.snapshotter().empty() ? "overlayfs" : c.snapshotter());
  req.set_key(c.snapshot_key());
  snv1::MountsResponse resp;
  RETURN_IF_ERROR(FromGrpc(snaps->Mounts(ctx.get(), req, &resp)));
  return std::vector<containerd::types::Mount>(resp.mounts().begin(), resp.mounts().end());
}

Status UpdateLabels(const Globals& g, const std::string& id, const std::map<std::string, std::string>& labels) {
  auto stub = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::UpdateContainerRequest req;
  req.mutable_container()->set_id(id);
  for (const auto& [k, v] : labels) {
    (*req.mutable_container()->mutable_labels())[k] = v;
    req.mutable_update_mask()->add_paths("labels." + k);
  }
  cov1::UpdateContainerResponse resp;
  return FromGrpc(stub->Update(ctx.get(), req, &resp));
}

Status ArmRestart(const Globals& g, const cov1::Container& c) {
  if (!c.labels().contains(kRestartPolicyLabel)) return Status();
  return UpdateLabels(g, c.id(), {{kRestartStatusLabel, "running"},
                                  {kRestartExplicitlyStoppedLabel, ""}});
}

Status DisarmRestart(const Globals& g, const cov1::Container& c) {
  if (!c.labels().contains(kRestartStatusLabel)) return Status();
  return UpdateLabels(g, c.id(), {{kRestartStatusLabel, "stopped"},
                                  {kRestartExplicitlyStoppedLabel, "true"}});
}

Status StartDetached(const Globals& g, const cov1::Container& c) {
  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (IsLive(task)) return Status();
  if (task) {
    auto ctx = NewContext(g);
    tkv1::DeleteTaskRequest req;
    req.set_container_id(c.id());
    tkv1::DeleteResponse resp;
    grpc::Status s = tasks->Delete(ctx.get(), req, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  ASSIGN_OR_RETURN(auto rootfs, SnapshotMounts(g, c));
  auto log = c.labels().find(kLabelLogPath);
  if (log == c.labels().end()) {
    return absl::FailedPreconditionError(StrCat("container ", c.id(), " has no log file: it was not made by berth"));
  }
  tkv1::CreateTaskRequest req;
  req.set_container_id(c.id());
  for (const auto& m : rootfs) *req.add_rootfs() = m;
  req.set_stdout("file://" + log->second);
  req.set_stderr("file://" + log->second);
  {
    auto ctx = NewContext(g);
    tkv1::CreateTaskResponse resp;
    RETURN_IF_ERROR(FromGrpc(tasks->Create(ctx.get(), req, &resp)));
  }
  RETURN_IF_ERROR(StartProcess(g, c.id(), ""));
  // The exit labels of an earlier run no longer describe it.
  RETURN_IF_ERROR(UpdateLabels(g, c.id(), {{kLabelExitCode, ""}, {kLabelExitedAt, ""}, {kLabelOomKilled, ""},
                                           {kLabelStartedAt, std::to_string(time(nullptr))}}));
  if (c.labels().count(kLabelHealthConfig)) RETURN_IF_ERROR(SpawnHealthMonitor(g, c.id()));
  return ArmRestart(g, c);
}

}  // namespace berth::cli
