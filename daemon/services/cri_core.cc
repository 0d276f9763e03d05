// CriCore: the CRI's core objects built over the Daemon (images, sandboxes) and the adapters
// between them and berthd's stores, puller and task manager.
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

#include "common/digest.h"
#include "common/fs.h"
#include "containerd/cgroups/v1/metrics.pb.h"
#include "containerd/cgroups/v2/metrics.pb.h"
#include "cri/pause_image.h"
#include "daemon/puller.h"
#include "daemon/services/cri.h"
#include "daemon/task_start.h"
#include "remotes/reference.h"

namespace berth::daemon {

namespace shim = containerd::task::v2;

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

}  // namespace

StatusOr<cri::TaskMetrics> ConvertCgroupMetrics(const std::string& type_url, const std::string& value,
                                                int64_t timestamp) {
  // containerd's CRI treats limits at or above 2^62 as "none" (cgroup v1's unlimited is
  // 0x7ffffffffffff000, v2's "max" is 2^64-1).
  constexpr uint64_t kMaxMemorySize = uint64_t{1} << 62;
  cri::TaskMetrics m;
  m.timestamp = timestamp;
  uint64_t inactive_file = 0, limit = 0;
  if (absl::EndsWith(type_url, "io.containerd.cgroups.v1.Metrics")) {
    io::containerd::cgroups::v1::Metrics v1;
    if (!v1.ParseFromString(value)) return absl::InternalError("cannot decode cgroups v1 metrics");
    m.cpu_usage_ns = v1.cpu().usage().total();
    m.memory_usage = v1.memory().usage().usage();
    inactive_file = v1.memory().total_inactive_file();
    limit = v1.memory().usage().limit();
    m.rss = v1.memory().total_rss();
    m.page_faults = v1.memory().total_pg_fault();
    m.major_page_faults = v1.memory().total_pg_maj_fault();
  } else if (absl::EndsWith(type_url, "io.containerd.cgroups.v2.Metrics")) {
    io::containerd::cgroups::v2::Metrics v2;
    if (!v2.ParseFromString(value)) return absl::InternalError("cannot decode cgroups v2 metrics");
    m.cpu_usage_ns = v2.cpu().usage_usec() * 1000;
    m.memory_usage = v2.memory().usage();
    inactive_file = v2.memory().inactive_file();
    limit = v2.memory().usage_limit();
    m.rss = v2.memory().anon();
    m.page_faults = v2.memory().pgfault();
    m.major_page_faults = v2.memory().pgmajfault();
  } else {
    return absl::UnimplementedError(StrCat("unknown metrics type ", type_url));
  }
  m.working_set = inactive_file < m.memory_usage ? m.memory_usage - inactive_file : 0;
  m.available = limit > 0 && limit < kMaxMemorySize && limit > m.working_set ? limit - m.working_set : 0;
  return m;
}

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

  cri::SandboxDeps sd;
  sd.containers = d.containers.get();
  sd.images = images.get();
  sd.snapshotter = d.config.cri.snapshotter;
  sd.root_dir = JoinPath(d.config.root, "io.containerd.grpc.v1.cri");
  sd.sandbox_image = d.config.cri.sandbox_image;
  auto rt = d.config.cri.runtimes.find(d.config.cri.default_runtime_name);
  if (rt != d.config.cri.runtimes.end()) sd.runtime_type = rt->second.runtime_type;
  sd.restrict_oom_score_adj = d.config.cri.restrict_oom_score_adj;
  sd.cni_conf_dir = d.config.cri.cni_conf_dir;
  sd.max_conf_num = static_cast<int>(d.config.cri.cni_max_conf_num);
  network::Cni::Options co;
  co.plugin_dirs = absl::StrSplit(d.config.cri.cni_bin_dir, ':', absl::SkipEmpty());
  // berthd's own cache (not libcni's shared /var/lib/cni): what it finds there after a crash
  // is its own to tear down.
  co.cache_dir = JoinPath(sd.root_dir, "cni");
  cni = std::make_unique<network::Cni>(co);
  sd.cni = cni.get();
  sd.netns_dir = d.config.cri.netns_mounts_under_state_dir
                     ? JoinPath(d.config.state, "io.containerd.grpc.v1.cri/netns")
                     : std::string("/var/run/netns");
  sd.netns_dir_private = d.config.cri.netns_mounts_under_state_dir;
  sd.import_pause = [this](const std::string& ref) { return ImportPause(ref); };
  metadata::SnapshotStore* ss = nullptr;
  if (auto it = d.snapshotters.find(sd.snapshotter); it != d.snapshotters.end()) ss = it->second.get();
  sd.snapshots.prepare = [ss](const std::string& key,
                              const std::string& parent) -> StatusOr<std::vector<snapshotter::Mount>> {
    if (!ss) return absl::FailedPreconditionError("the CRI snapshotter is not loaded");
    return ss->Prepare(cri::kNamespace, "", key, parent, {});
  };
  sd.snapshots.mounts = [ss](const std::string& key) -> StatusOr<std::vector<snapshotter::Mount>> {
    if (!ss) return absl::FailedPreconditionError("the CRI snapshotter is not loaded");
    return ss->Mounts(cri::kNamespace, key);
  };
  sd.snapshots.remove = [this, ss](const std::string& key) -> Status {
    if (!ss) return Status();
    Status s = ss->Remove(cri::kNamespace, key);
    if (absl::IsNotFound(s)) return Status();
    d.gc->Schedule();
    return s;
  };
  sd.snapshots.usage = [ss](const std::string& key) -> StatusOr<snapshotter::Usage> {
    if (!ss) return absl::FailedPreconditionError("the CRI snapshotter is not loaded");
    return ss->GetUsage(cri::kNamespace, key);
  };
  sd.tasks.start = [this](const metadata::Container& c, const std::vector<snapshotter::Mount>& rootfs,
                          const std::string& out, const std::string& err) -> StatusOr<uint32_t> {
    runtime::CreateTaskParams p = ContainerTaskParams(cri::kNamespace, c);
    auto& sr = p.request;
    for (const auto& m : rootfs) {
      auto* pm = sr.add_rootfs();
      pm->set_type(m.type);
      pm->set_source(m.source);
      for (const auto& o : m.options) pm->add_options(o);
    }
    if (!out.empty()) sr.set_stdout(out);
    if (!err.empty()) sr.set_stderr(err);
    if (auto opts = EffectiveRuntimeOptions(d.config, c.runtime_name, std::nullopt)) {
      sr.mutable_options()->set_type_url(opts->type_url);
      sr.mutable_options()->set_value(opts->value);
      p.options_any = sr.options().SerializeAsString();
    }
    ASSIGN_OR_RETURN(auto t, d.tasks->Create(std::move(p)));
    return StartTaskProcess(*t, "");
  };
  sd.tasks.state = [this](const std::string& id) -> StatusOr<cri::TaskState> {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::StateRequest req;
    req.set_id(id);
    ASSIGN_OR_RETURN(auto st, t->shim().Call<shim::StateResponse>("State", req, std::chrono::seconds(2)));
    cri::TaskState out;
    out.running = st.status() == containerd::v1::types::RUNNING || st.status() == containerd::v1::types::PAUSED;
    out.pid = st.pid();
    out.exit_status = st.exit_status();
    if (st.has_exited_at()) out.exited_at = st.exited_at().seconds() * 1000000000 + st.exited_at().nanos();
    return out;
  };
  sd.tasks.kill = [this](const std::string& id, int signal, bool all) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::KillRequest req;
    req.set_id(id);
    req.set_signal(static_cast<uint32_t>(signal));
    req.set_all(all);
    return t->shim().Call<google::protobuf::Empty>("Kill", req).status();
  };
  sd.tasks.wait = [this](const std::string& id, int64_t timeout_ms) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::WaitRequest req;
    req.set_id(id);
    return t->shim().Call<shim::WaitResponse>("Wait", req, std::chrono::milliseconds(timeout_ms)).status();
  };
  sd.tasks.remove = [this](const std::string& id) -> Status {
    auto r = d.tasks->Delete(cri::kNamespace, id);
    if (absl::IsNotFound(r.status())) return Status();
    return r.status();
  };
  sd.tasks.exec = [this](const std::string& id, const std::string& exec_id, const std::string& process_json,
                         const std::string& out, const std::string& err) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::ExecProcessRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_terminal(false);
    req.set_stdout(out);
    req.set_stderr(err);
    req.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
    req.mutable_spec()->set_value(process_json);
    RETURN_IF_ERROR(t->shim().Call<google::protobuf::Empty>("Exec", req).status());
    return StartTaskProcess(*t, exec_id).status();
  };
  sd.tasks.exec_wait = [this](const std::string& id, const std::string& exec_id,
                              int64_t timeout_ms) -> StatusOr<uint32_t> {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::WaitRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    ASSIGN_OR_RETURN(auto r, t->shim().Call<shim::WaitResponse>(
                                 "Wait", req, std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 0)));
    return r.exit_status();
  };
  sd.tasks.exec_kill = [this](const std::string& id, const std::string& exec_id, int signal) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::KillRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_signal(static_cast<uint32_t>(signal));
    return t->shim().Call<google::protobuf::Empty>("Kill", req).status();
  };
  sd.tasks.exec_delete = [this](const std::string& id, const std::string& exec_id) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::DeleteRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    auto r = t->shim().Call<shim::DeleteResponse>("Delete", req);
    if (absl::IsNotFound(r.status())) return Status();
    return r.status();
  };
  sd.tasks.update = [this](const std::string& id, const std::string& resources_json) -> Status {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::UpdateTaskRequest req;
    req.set_id(id);
    req.mutable_resources()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    req.mutable_resources()->set_value(resources_json);
    return t->shim().Call<google::protobuf::Empty>("Update", req).status();
  };
  sd.tasks.metrics = [this](const std::string& id) -> StatusOr<cri::TaskMetrics> {
    ASSIGN_OR_RETURN(auto t, d.tasks->Get(cri::kNamespace, id));
    shim::StatsRequest req;
    req.set_id(id);
    ASSIGN_OR_RETURN(auto r, t->shim().Call<shim::StatsResponse>("Stats", req, std::chrono::seconds(10)));
    return ConvertCgroupMetrics(r.stats().type_url(), r.stats().value(), metadata::NowNanos());
  };
  sd.stop_containers = [this](const std::string& id) { return containers->StopAll(id); };
  sd.remove_containers = [this](const std::string& id) { return containers->RemoveAll(id); };
  cri::ContainerDeps cd;
  cd.containers = sd.containers;
  cd.images = images.get();
  cd.tasks = sd.tasks;
  cd.snapshots = sd.snapshots;
  cd.snapshotter = sd.snapshotter;
  cd.state_dir = JoinPath(d.config.state, "io.containerd.grpc.v1.cri");
  cd.runtime_type = sd.runtime_type;
  cd.restrict_oom_score_adj = sd.restrict_oom_score_adj;
  cd.max_log_line = d.config.cri.max_container_log_line_size;
  cd.snapshotter_root = JoinPath(d.config.root, "io.containerd.snapshotter.v1." + cd.snapshotter);
  sandboxes = std::make_unique<cri::SandboxManager>(std::move(sd));
  cd.sandboxes = sandboxes.get();
  containers = std::make_unique<cri::ContainerManager>(std::move(cd));
  containers->Recover();
  if (Status r = sandboxes->Recover(); !r.ok()) {
    BLOG(Warn) << "cri: recover sandboxes: " << r;
  }
}

StatusOr<std::string> CriCore::ImportPause(const std::string& ref) {
  ASSIGN_OR_RETURN(std::string path, cri::FindPauseProgram());
  std::ifstream f(path, std::ios::binary);
  std::string program((std::istreambuf_iterator<char>(f)), {});
  ASSIGN_OR_RETURN(cri::BuiltImage b, cri::BuildPauseImage(program));
  // Everything under a lease until the image records hold it.
  TempLease lease(d, cri::kNamespace);
  RETURN_IF_ERROR(lease.Create());
  auto cs = d.content->Namespaced(cri::kNamespace, lease.id);
  struct Blob {
    const std::string& bytes;
    const std::string& digest;
    content::Labels labels;
  };
  std::vector<Blob> blobs = {
      {b.layer, b.layer_digest, {{"containerd.io/uncompressed", b.diff_id}}},
      {b.config, b.config_digest, {}},
      {b.manifest, b.manifest_digest,
       {{"containerd.io/gc.ref.content.config", b.config_digest}, {"containerd.io/gc.ref.content.l.0", b.layer_digest}}},
  };
  for (const auto& blob : blobs) {
    ASSIGN_OR_RETURN(Digest dg, Digest::Parse(blob.digest));
    content::WriterOptions o;
    o.ref = "berth-pause-" + blob.digest;
    o.total = static_cast<int64_t>(blob.bytes.size());
    o.expected = dg;
    auto w = cs->OpenWriter(o);
    if (absl::IsAlreadyExists(w.status())) continue;
    RETURN_IF_ERROR(w.status());
    RETURN_IF_ERROR((*w)->Write(blob.bytes));
    Status s = (*w)->Commit(static_cast<int64_t>(blob.bytes.size()), dg, blob.labels);
    if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
  }
  images::Descriptor mdesc{.media_type = images::kOciManifest, .digest = b.manifest_digest,
                           .size = static_cast<int64_t>(b.manifest.size())};
  RETURN_IF_ERROR(UnpackStored(d, cri::kNamespace, lease.id, d.config.cri.snapshotter, mdesc).status());
  metadata::Descriptor target{.media_type = mdesc.media_type, .digest = mdesc.digest, .size = mdesc.size};
  return images->Record(ref, target);
}


}  // namespace berth::daemon
