#include "cri/container.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/fs.h"
#include "common/unique.h"
#include "common/log.h"
#include "cri/log_writer.h"
#include "runtime/oom_score.h"
#include "runtime/spec.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;

constexpr char kSpecType[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kMetadataType[] = "github.com/containerd/containerd/pkg/cri/store/container/Metadata";

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

json ConfigToJson(const ContainerConfig& c) {
  json mounts = json::array();
  for (const auto& m : c.mounts) {
    mounts.push_back({{"container_path", m.container_path},
                      {"host_path", m.host_path},
                      {"readonly", m.readonly},
                      {"propagation", m.propagation}});
  }
  json envs = json::array();
  for (const auto& [k, v] : c.envs) envs.push_back({k, v});
  json j = {{"name", c.name},
            {"attempt", c.attempt},
            {"image", c.image},
            {"command", c.command},
            {"args", c.args},
            {"working_dir", c.working_dir},
            {"envs", envs},
            {"mounts", mounts},
            {"labels", c.labels},
            {"annotations", c.annotations},
            {"log_path", c.log_path},
            {"cpu_period", c.cpu_period},
            {"cpu_quota", c.cpu_quota},
            {"cpu_shares", c.cpu_shares},
            {"memory_limit", c.memory_limit},
            {"oom_score_adj", c.oom_score_adj},
            {"cpuset_cpus", c.cpuset_cpus},
            {"cpuset_mems", c.cpuset_mems},
            {"privileged", c.privileged},
            {"readonly_rootfs", c.readonly_rootfs},
            {"no_new_privs", c.no_new_privs},
            {"add_caps", c.add_caps},
            {"drop_caps", c.drop_caps},
            {"supplemental_groups", c.supplemental_groups},
            {"seccomp_type", c.seccomp_type},
            {"seccomp_localhost", c.seccomp_localhost},
            {"pid", static_cast<int>(c.pid)}};
  if (c.run_as_user) j["run_as_user"] = *c.run_as_user;
  if (c.run_as_group) j["run_as_group"] = *c.run_as_group;
  return j;
}

ContainerConfig ConfigFromJson(const json& j) {
  ContainerConfig c;
  c.name = j.value("name", "");
  c.attempt = j.value("attempt", 0u);
  c.image = j.value("image", "");
  c.command = j.value("command", std::vector<std::string>{});
  c.args = j.value("args", std::vector<std::string>{});
  c.working_dir = j.value("working_dir", "");
  for (const auto& e : j.value("envs", json::array())) {
    if (e.is_array() && e.size() == 2) c.envs.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
  }
  for (const auto& m : j.value("mounts", json::array())) {
    c.mounts.push_back({m.value("container_path", ""), m.value("host_path", ""), m.value("readonly", false),
                        m.value("propagation", 0)});
  }
  c.labels = j.value("labels", std::map<std::string, std::string>{});
  c.annotations = j.value("annotations", std::map<std::string, std::string>{});
  c.log_path = j.value("log_path", "");
  c.cpu_period = j.value("cpu_period", int64_t{0});
  c.cpu_quota = j.value("cpu_quota", int64_t{0});
  c.cpu_shares = j.value("cpu_shares", int64_t{0});
  c.memory_limit = j.value("memory_limit", int64_t{0});
  c.oom_score_adj = j.value("oom_score_adj", int64_t{0});
  c.cpuset_cpus = j.value("cpuset_cpus", "");
  c.cpuset_mems = j.value("cpuset_mems", "");
  c.privileged = j.value("privileged", false);
  c.readonly_rootfs = j.value("readonly_rootfs", false);
  c.no_new_privs = j.value("no_new_privs", false);
  c.add_caps = j.value("add_caps", std::vector<std::string>{});
  c.drop_caps = j.value("drop_caps", std::vector<std::string>{});
  c.supplemental_groups = j.value("supplemental_groups", std::vector<int64_t>{});
  c.seccomp_type = j.value("seccomp_type", 1);
  c.seccomp_localhost = j.value("seccomp_localhost", "");
  c.pid = static_cast<NamespaceMode>(j.value("pid", 0));
  if (j.contains("run_as_user")) c.run_as_user = j["run_as_user"].get<int64_t>();
  if (j.contains("run_as_group")) c.run_as_group = j["run_as_group"].get<int64_t>();
  return c;
}

// Every capability the host's libcap knows, as "CAP_..." names.
std::vector<std::string> AllCapabilities() {
  std::vector<std::string> out;
  for (int i = 0; i <= CAP_LAST_CAP; ++i) {
    char* n = cap_to_name(static_cast<cap_value_t>(i));
    if (n == nullptr) continue;
    std::string s(n);
    cap_free(n);
    if (s.rfind("cap_", 0) != 0) continue;
    std::transform(s.begin(), s.end(), s.begin(), ::toupper);
    out.push_back(s);
  }
  return out;
}

StatusOr<std::string> CapName(std::string c) {
  std::transform(c.begin(), c.end(), c.begin(), ::toupper);
  if (c == "ALL") return c;
  if (c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
  auto all = AllCapabilities();
  if (std::find(all.begin(), all.end(), c) == all.end()) {
    return absl::InvalidArgumentError(StrCat("unknown capability \"", c, "\""));
  }
  return c;
}

void SetNamespace(json& spec, const std::string& type, const std::string& path, bool present) {
  auto& ns = spec["linux"]["namespaces"];
  for (auto it = ns.begin(); it != ns.end(); ++it) {
    if ((*it).value("type", "") != type) continue;
    if (!present) {
      ns.erase(it);
      return;
    }
    if (!path.empty()) (*it)["path"] = path;
    return;
  }
  if (present) {
    json n = {{"type", type}};
    if (!path.empty()) n["path"] = path;
    ns.push_back(n);
  }
}

}  // namespace

// Copies a container's stdout and stderr FIFOs into its CRI log file (one thread, both streams).
class LogPump {
 public:
  LogPump(std::string path, int64_t max_line) : path_(std::move(path)), max_line_(max_line) {}
  ~LogPump() {
    if (file_ >= 0) ::close(file_);
  }

  Status Open() {
    std::lock_guard<std::mutex> l(mu_);
    if (path_.empty()) return Status();
    RETURN_IF_ERROR(MkdirAll(DirName(path_), 0755));
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return ErrnoStatus(errno, StrCat("open log file ", path_));
    if (file_ >= 0) ::close(file_);
    file_ = fd;
    return Status();
  }

  // Runs until both FIFOs reached EOF (the shim closed them at the end of the output).
  void Run(int out, int err) {
    auto sink = [this](std::string_view rec) -> Status {
      std::lock_guard<std::mutex> l(mu_);
      if (file_ < 0) return Status();
      size_t off = 0;
      while (off < rec.size()) {
        ssize_t n = ::write(file_, rec.data() + off, rec.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoStatus(errno, "write log");
        off += static_cast<size_t>(n);
      }
      return Status();
    };
    LogWriter wout("stdout", max_line_, sink), werr("stderr", max_line_, sink);
    int fds[2] = {out, err};
    LogWriter* ws[2] = {&wout, &werr};
    char buf[32768];
    while (fds[0] >= 0 || fds[1] >= 0) {
      pollfd p[2];
      int n = 0;
      int idx[2];
      for (int i = 0; i < 2; ++i) {
        if (fds[i] < 0) continue;
        p[n] = {fds[i], POLLIN, 0};
        idx[n++] = i;
      }
      ::poll(p, n, 1000);
      for (int k = 0; k < n; ++k) {
        int i = idx[k];
        for (;;) {
          ssize_t r = ::read(fds[i], buf, sizeof buf);
          if (r > 0) {
            Status s = ws[i]->Write(std::string_view(buf, static_cast<size_t>(r)));
            if (!s.ok()) {
              BLOG(Warn) << "cri: container log " << path_ << ": " << s;
            }
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r == 0) {  // no writer left: the end of the stream
            (void)ws[i]->Close();
            ::close(fds[i]);
            fds[i] = -1;
          }
          break;  // EAGAIN: the writer is still there
        }
      }
    }
    done_ = true;
  }

  bool done() const { return done_; }

 private:
  std::string path_;
  int64_t max_line_;
  std::mutex mu_;
  int file_ = -1;
  std::atomic<bool> done_{false};
};

std::string EncodeContainer(const CriContainer& c) {
  json j = {{"version", "berth.cri.container/v1"},
            {"id", c.id},
            {"sandbox_id", c.sandbox_id},
            {"config", ConfigToJson(c.config)},
            {"image_id", c.image_id},
            {"image_ref", c.image_ref},
            {"log_path", c.log_path},
            {"created_at", c.created_at},
            {"started_at", c.started_at}};
  return j.dump();
}

StatusOr<CriContainer> DecodeContainer(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("container metadata is not JSON");
  CriContainer c;
  c.id = j.value("id", "");
  c.sandbox_id = j.value("sandbox_id", "");
  c.config = ConfigFromJson(j.value("config", json::object()));
  c.image_id = j.value("image_id", "");
  c.image_ref = j.value("image_ref", "");
  c.log_path = j.value("log_path", "");
  c.created_at = j.value("created_at", int64_t{0});
  c.started_at = j.value("started_at", int64_t{0});
  return c;
}

bool MatchContainer(const CriContainer& c, const ContainerFilter& f) {
  if (!f.id.empty() && c.id != f.id) return false;
  if (!f.sandbox_id.empty() && c.sandbox_id != f.sandbox_id) return false;
  if (f.state && c.state != *f.state) return false;
  return MatchLabels(c.config.labels, f.label_selector);
}

ContainerManager::ContainerManager(ContainerDeps deps) : d_(std::move(deps)) {}
ContainerManager::~ContainerManager() = default;

std::string ContainerManager::IoDir(const std::string& id) const { return JoinPath(d_.state_dir, "containers/" + id + "/io"); }

StatusOr<std::vector<metadata::Container>> ContainerManager::Records() {
  ASSIGN_OR_RETURN(Filter f, Filter::Parse(StrCat("labels.\"", kKindLabel, "\"==container")));
  return d_.containers->List(kNamespace, f);
}

StatusOr<CriContainer> ContainerManager::FromRecord(const metadata::Container& r) {
  auto it = r.extensions.find(kContainerMetadataExtension);
  if (it == r.extensions.end()) return absl::NotFoundError(StrCat("container ", r.id, " is not a CRI container"));
  ASSIGN_OR_RETURN(CriContainer c, DecodeContainer(it->second.value));
  c.id = r.id;
  auto st = d_.tasks.state(r.id);
  if (st.ok()) {
    if (st->running) {
      c.state = ContainerState::kRunning;
      c.pid = st->pid;
    } else if (c.started_at != 0) {
      c.state = ContainerState::kExited;
      c.exit_code = static_cast<int32_t>(st->exit_status);
      c.finished_at = st->exited_at;
      c.reason = c.exit_code == 0 ? "Completed" : "Error";
    }
  } else if (c.started_at != 0) {
    // Started once, no task any more (its shim is gone): exited, status unknown.
    c.state = ContainerState::kExited;
    c.exit_code = 255;
    c.reason = "Unknown";
  }
  return c;
}

StatusOr<std::string> ContainerManager::Resolve(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("container id is empty");
  ASSIGN_OR_RETURN(auto all, Records());
  std::string found;
  for (const auto& c : all) {
    if (c.id == id) return id;
    if (c.id.rfind(id, 0) == 0) {
      if (!found.empty()) return absl::NotFoundError(StrCat("container id \"", id, "\" is ambiguous"));
      found = c.id;
    }
  }
  if (found.empty()) {
    return absl::NotFoundError(StrCat("an error occurred when try to find container \"", id, "\": not found"));
  }
  return found;
}

StatusOr<std::string> ContainerManager::Spec(const std::string& id, const ContainerConfig& cfg, const Sandbox& sb,
                                             const Image& image) {
  runtime::SpecOptions o;
  o.ns = kNamespace;
  o.id = id;
  o.image.env = image.env;
  o.image.entrypoint = image.entrypoint;
  o.image.cmd = image.cmd;
  o.image.working_dir = image.working_dir;
  o.image.user = image.user;
  // CRI: command replaces the entrypoint, args the cmd.
  if (!cfg.command.empty()) {
    o.args = cfg.command;
    o.args.insert(o.args.end(), cfg.args.begin(), cfg.args.end());
  } else if (!cfg.args.empty()) {
    o.args = image.entrypoint;
    o.args.insert(o.args.end(), cfg.args.begin(), cfg.args.end());
  }
  for (const auto& [k, v] : cfg.envs) o.extra_env.push_back(k + "=" + v);
  o.hostname = sb.config.hostname;
  ASSIGN_OR_RETURN(std::string text, runtime::GenerateSpec(o));
  json spec = json::parse(text);
  auto& proc = spec["process"];
  if (!cfg.working_dir.empty()) proc["cwd"] = cfg.working_dir;

  // The sandbox's namespaces.
  std::string pause = StrCat("/proc/", sb.pid, "/ns/");
  bool host_net = sb.config.network == NamespaceMode::kNode;
  SetNamespace(spec, "network", sb.netns, !host_net);
  SetNamespace(spec, "uts", pause + "uts", !host_net);
  if (host_net) {
    spec.erase("hostname");
  } else {
    std::string hn = sb.config.hostname;
    if (hn.empty()) {
      char buf[256] = {};
      gethostname(buf, sizeof buf - 1);
      hn = buf;
    }
    spec["hostname"] = hn;
  }
  SetNamespace(spec, "ipc", pause + "ipc", sb.config.ipc != NamespaceMode::kNode);
  NamespaceMode pid = sb.config.pid == NamespaceMode::kNode ? NamespaceMode::kNode : cfg.pid;
  SetNamespace(spec, "pid", pid == NamespaceMode::kPod ? pause + "pid" : "", pid != NamespaceMode::kNode);

  // Mounts: the sandbox's files, then the config's.
  auto& mounts = spec["mounts"];
  std::set<std::string> wanted;
  for (const auto& m : cfg.mounts) wanted.insert(m.container_path);
  std::string dir = d_.sandboxes->Dir(sb.id);
  for (const char* f : {"hosts", "hostname", "resolv.conf"}) {
    std::string dst = StrCat("/etc/", f);
    if (wanted.count(dst)) continue;
    json opts = {"rbind", "rprivate", cfg.readonly_rootfs ? "ro" : "rw"};
    mounts.push_back({{"destination", dst}, {"type", "bind"}, {"source", StrCat(dir, "/", f)}, {"options", opts}});
  }
  for (const auto& m : cfg.mounts) {
    for (auto it = mounts.begin(); it != mounts.end();) {
      it = (*it).value("destination", "") == m.container_path ? mounts.erase(it) : it + 1;
    }
    static const char* kProp[] = {"rprivate", "rslave", "rshared"};
    json opts = {"rbind", m.propagation >= 0 && m.propagation <= 2 ? kProp[m.propagation] : "rprivate",
                 m.readonly ? "ro" : "rw"};
    mounts.push_back({{"destination", m.container_path}, {"type", "bind"}, {"source", m.host_path}, {"options", opts}});
    if (m.propagation == 2) spec["linux"]["rootfsPropagation"] = "rshared";
    if (m.propagation == 1 && spec["linux"].value("rootfsPropagation", "") != "rshared") {
      spec["linux"]["rootfsPropagation"] = "rslave";
    }
  }

  // Security context.
  std::vector<std::string> caps;
  if (cfg.privileged) {
    caps = AllCapabilities();
    spec["linux"].erase("maskedPaths");
    spec["linux"].erase("readonlyPaths");
    spec["linux"].erase("seccomp");
    for (auto& m : mounts) {
      if (m.value("destination", "") == "/sys") m["options"] = {"nosuid", "noexec", "nodev", "rw"};
    }
  } else {
    caps = proc["capabilities"].value("bounding", std::vector<std::string>{});
    for (const auto& a : cfg.add_caps) {
      ASSIGN_OR_RETURN(std::string n, CapName(a));
      if (n == "ALL") {
        caps = AllCapabilities();
      } else if (std::find(caps.begin(), caps.end(), n) == caps.end()) {
        caps.push_back(n);
      }
    }
    for (const auto& dcap : cfg.drop_caps) {
      ASSIGN_OR_RETURN(std::string n, CapName(dcap));
      if (n == "ALL") {
        caps.clear();
      } else {
        caps.erase(std::remove(caps.begin(), caps.end(), n), caps.end());
      }
    }
    if (cfg.seccomp_type == 1) {
      spec["linux"].erase("seccomp");
    } else if (cfg.seccomp_type == 2) {
      std::string path = cfg.seccomp_localhost;
      if (path.rfind("localhost/", 0) == 0) path = path.substr(10);
      std::ifstream f(path);
      if (!f) return absl::NotFoundError(StrCat("seccomp profile ", path, " cannot be read"));
      json prof = json::parse(f, nullptr, false);
      if (prof.is_discarded()) return absl::InvalidArgumentError(StrCat("seccomp profile ", path, " is not JSON"));
      spec["linux"]["seccomp"] = prof;
    }
  }
  for (const char* set : {"bounding", "effective", "permitted"}) proc["capabilities"][set] = caps;
  proc["capabilities"].erase("inheritable");
  proc["capabilities"].erase("ambient");
  if (cfg.no_new_privs) proc["noNewPrivileges"] = true;
  if (cfg.run_as_user) {
    proc["user"]["uid"] = *cfg.run_as_user;
    proc["user"]["gid"] = cfg.run_as_group.value_or(0);
  } else if (cfg.run_as_group) {
    proc["user"]["gid"] = *cfg.run_as_group;
  }
  if (!cfg.supplemental_groups.empty()) proc["user"]["additionalGids"] = cfg.supplemental_groups;
  spec["root"]["readonly"] = cfg.readonly_rootfs;

  // Resources.
  json& res = spec["linux"]["resources"];
  if (cfg.cpu_shares > 0) res["cpu"]["shares"] = cfg.cpu_shares;
  if (cfg.cpu_quota != 0) res["cpu"]["quota"] = cfg.cpu_quota;
  if (cfg.cpu_period > 0) res["cpu"]["period"] = cfg.cpu_period;
  if (!cfg.cpuset_cpus.empty()) res["cpu"]["cpus"] = cfg.cpuset_cpus;
  if (!cfg.cpuset_mems.empty()) res["cpu"]["mems"] = cfg.cpuset_mems;
  if (cfg.memory_limit > 0) res["memory"]["limit"] = cfg.memory_limit;
  int64_t oom = cfg.oom_score_adj;
  if (d_.restrict_oom_score_adj) {
    ASSIGN_OR_RETURN(int own, runtime::ReadOomScoreAdj(0));
    oom = std::max<int64_t>(oom, own);
  }
  proc["oomScoreAdj"] = oom;
  if (!sb.config.cgroup_parent.empty()) {
    std::string parent = sb.config.cgroup_parent;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    spec["linux"]["cgroupsPath"] = parent + "/" + id;
  }

  json ann = cfg.annotations;
  ann["io.kubernetes.cri.container-type"] = "container";
  ann["io.kubernetes.cri.container-name"] = cfg.name;
  ann["io.kubernetes.cri.sandbox-id"] = sb.id;
  ann["io.kubernetes.cri.sandbox-name"] = sb.config.name;
  ann["io.kubernetes.cri.sandbox-namespace"] = sb.config.pod_namespace;
  ann["io.kubernetes.cri.sandbox-uid"] = sb.config.uid;
  ann["io.kubernetes.cri.image-name"] = cfg.image;
  spec["annotations"] = ann;
  return spec.dump();
}

StatusOr<std::string> ContainerManager::Create(const std::string& sandbox_id, const ContainerConfig& cfg) {
  if (cfg.name.empty()) return absl::InvalidArgumentError("container config must include metadata.name");
  ASSIGN_OR_RETURN(Sandbox sb, d_.sandboxes->Get(sandbox_id));
  if (sb.state != SandboxState::kReady) {
    return absl::FailedPreconditionError(StrCat("sandbox container \"", sb.id, "\" is not running"));
  }
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(auto existing, Records());
  for (const auto& r : existing) {
    auto c = FromRecord(r);
    if (c.ok() && c->sandbox_id == sb.id && c->config.name == cfg.name && c->config.attempt == cfg.attempt) {
      return absl::AlreadyExistsError(StrCat("container name \"", cfg.name, "_", sb.config.name, "_",
                                             sb.config.pod_namespace, "_", sb.config.uid, "_", cfg.attempt,
                                             "\" is reserved for \"", r.id, "\""));
    }
  }
  ASSIGN_OR_RETURN(Image image, d_.images->Find(cfg.image));
  std::string id = RandomHex(64);
  CriContainer c;
  c.id = id;
  c.sandbox_id = sb.id;
  c.config = cfg;
  c.image_id = image.id;
  c.image_ref = image.repo_digests.empty() ? image.id : image.repo_digests[0];
  if (!sb.config.log_directory.empty() && !cfg.log_path.empty()) {
    c.log_path = JoinPath(sb.config.log_directory, cfg.log_path);
  }
  c.created_at = NowNs();
  ASSIGN_OR_RETURN(std::string spec, Spec(id, cfg, sb, image));

  bool ok = false;
  std::string io = IoDir(id);
  RETURN_IF_ERROR(MkdirAll(io, 0700));
  struct Undo {
    std::function<void()> fn;
    bool* ok;
    ~Undo() {
      if (!*ok) fn();
    }
  };
  Undo undo_io{[io] {
                 std::error_code e;
                 std::filesystem::remove_all(DirName(io), e);
               },
               &ok};
  for (const char* s : {"stdout", "stderr"}) {
    std::string p = StrCat(io, "/", id, "-", s);
    if (::mkfifo(p.c_str(), 0600) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkfifo " + p);
  }
  RETURN_IF_ERROR(d_.snapshots.prepare(id, image.chain_id).status());
  Undo undo_snap{[this, id] { (void)d_.snapshots.remove(id); }, &ok};
  metadata::Container r;
  r.id = id;
  r.labels = cfg.labels;
  r.labels[kKindLabel] = "container";
  r.image = cfg.image;
  r.runtime_name = d_.runtime_type;
  r.spec = metadata::AnyValue{kSpecType, spec};
  r.snapshotter = d_.snapshotter;
  r.snapshot_key = id;
  r.extensions[kContainerMetadataExtension] = metadata::AnyValue{kMetadataType, EncodeContainer(c)};
  RETURN_IF_ERROR(d_.containers->Create(kNamespace, r).status());
  ok = true;
  return id;
}

Status ContainerManager::AttachLog(const CriContainer& c, bool fresh) {
  auto pump = std::make_shared<LogPump>(c.log_path, d_.max_log_line);
  RETURN_IF_ERROR(pump->Open());
  std::string io = IoDir(c.id);
  int fds[2];
  const char* names[2] = {"stdout", "stderr"};
  for (int i = 0; i < 2; ++i) {
    std::string p = StrCat(io, "/", c.id, "-", names[i]);
    fds[i] = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fds[i] < 0) {
      Status s = ErrnoStatus(errno, "open " + p);
      if (i == 1) ::close(fds[0]);
      return s;
    }
  }
  pumps_[c.id] = pump;
  std::thread([pump, out = fds[0], err = fds[1]] { pump->Run(out, err); }).detach();
  return Status();
}

Status ContainerManager::Start(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(metadata::Container r, d_.containers->Get(kNamespace, id));
  ASSIGN_OR_RETURN(CriContainer c, FromRecord(r));
  if (c.state != ContainerState::kCreated) {
    return absl::FailedPreconditionError(StrCat("container \"", id, "\" is not in created state"));
  }
  ASSIGN_OR_RETURN(Sandbox sb, d_.sandboxes->Get(c.sandbox_id));
  if (sb.state != SandboxState::kReady) {
    return absl::FailedPreconditionError(StrCat("sandbox container \"", sb.id, "\" is not running"));
  }
  ASSIGN_OR_RETURN(auto mounts, d_.snapshots.mounts(id));
  // The FIFOs' read ends are open before the shim opens them and until it closed them, so output
  // of a container that exits at once is not lost; a pump reads them once the task started.
  std::string io = IoDir(id);
  std::string out = StrCat(io, "/", id, "-stdout"), err = StrCat(io, "/", id, "-stderr");
  int hold[2] = {::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC),
                 ::open(err.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  auto pid = d_.tasks.start(r, mounts, out, err);
  Status attached = pid.ok() ? AttachLog(c, true) : Status();
  for (int fd : hold) {
    if (fd >= 0) ::close(fd);
  }
  if (!pid.ok()) {
    (void)d_.tasks.remove(id);
    return Annotate(pid.status(), "failed to start containerd task");
  }
  if (!attached.ok()) {
    BLOG(Warn) << "cri: logs of container " << id << ": " << attached;
  }
  c.started_at = NowNs();
  r.extensions[kContainerMetadataExtension] = metadata::AnyValue{kMetadataType, EncodeContainer(c)};
  return d_.containers->Update(kNamespace, r, {StrCat("extensions.", kContainerMetadataExtension)}).status();
}

Status ContainerManager::Stop(const std::string& id_or_prefix, int64_t timeout_s) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  auto st = d_.tasks.state(id);
  if (absl::IsNotFound(st.status())) return Status();
  RETURN_IF_ERROR(st.status());
  if (!st->running) return Status();
  if (timeout_s > 0) {
    Status k = d_.tasks.kill(id, SIGTERM, false);
    if (!k.ok() && !absl::IsNotFound(k)) return k;
    Status w = d_.tasks.wait(id, timeout_s * 1000);
    if (w.ok()) return Status();
    if (!absl::IsDeadlineExceeded(w)) return w;
  }
  Status k = d_.tasks.kill(id, SIGKILL, true);
  if (!k.ok() && !absl::IsNotFound(k)) return k;
  return d_.tasks.wait(id, 30000);
}

Status ContainerManager::Remove(const std::string& id_or_prefix) {
  auto resolved = Resolve(id_or_prefix);
  if (absl::IsNotFound(resolved.status())) return Status();
  RETURN_IF_ERROR(resolved.status());
  std::string id = *resolved;
  RETURN_IF_ERROR(Stop(id, 0));
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(d_.tasks.remove(id));
  RETURN_IF_ERROR(d_.snapshots.remove(id));
  Status s = d_.containers->Delete(kNamespace, id);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  pumps_.erase(id);
  {
    std::lock_guard<std::mutex> sl(stats_mu_);
    last_cpu_.erase(id);
  }
  std::error_code ec;
  std::filesystem::remove_all(DirName(IoDir(id)), ec);
  return Status();
}

StatusOr<CriContainer> ContainerManager::Get(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  ASSIGN_OR_RETURN(metadata::Container r, d_.containers->Get(kNamespace, id));
  return FromRecord(r);
}

StatusOr<std::vector<CriContainer>> ContainerManager::List(const ContainerFilter& f) {
  ContainerFilter filter = f;
  if (!filter.id.empty()) {
    auto full = Resolve(filter.id);
    if (!full.ok()) return std::vector<CriContainer>{};
    filter.id = *full;
  }
  if (!filter.sandbox_id.empty()) {
    auto full = d_.sandboxes->Resolve(filter.sandbox_id);
    if (!full.ok()) return std::vector<CriContainer>{};
    filter.sandbox_id = *full;
  }
  ASSIGN_OR_RETURN(auto all, Records());
  std::vector<CriContainer> out;
  for (const auto& r : all) {
    auto c = FromRecord(r);
    if (c.ok() && MatchContainer(*c, filter)) out.push_back(std::move(*c));
  }
  return out;
}

namespace {

// Drains an exec's stdout and stderr FIFOs into strings (at most `cap` bytes each) until both
// reached EOF or `stop` is set.
void DrainExecOutput(int out, int err, size_t cap, std::string* out_data, std::string* err_data,
                     const std::atomic<bool>* stop) {
  int fds[2] = {out, err};
  std::string* dst[2] = {out_data, err_data};
  char buf[32768];
  while ((fds[0] >= 0 || fds[1] >= 0) && !stop->load()) {
    pollfd p[2];
    int n = 0, idx[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0) continue;
      p[n] = {fds[i], POLLIN, 0};
      idx[n++] = i;
    }
    ::poll(p, n, 200);
    for (int k = 0; k < n; ++k) {
      int i = idx[k];
      for (;;) {
        ssize_t r = ::read(fds[i], buf, sizeof buf);
        if (r > 0) {
          size_t room = cap > dst[i]->size() ? cap - dst[i]->size() : 0;
          dst[i]->append(buf, std::min(room, static_cast<size_t>(r)));
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
          ::close(fds[i]);
          fds[i] = -1;
        }
        break;
      }
    }
  }
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

StatusOr<ContainerManager::ExecResult> ContainerManager::ExecSync(const std::string& id_or_prefix,
                                                                  const std::vector<std::string>& cmd,
                                                                  int64_t timeout_s) {
  if (cmd.empty()) return absl::InvalidArgumentError("cmd must not be empty");
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  ASSIGN_OR_RETURN(metadata::Container r, d_.containers->Get(kNamespace, id));
  ASSIGN_OR_RETURN(CriContainer c, FromRecord(r));
  if (c.state != ContainerState::kRunning) {
    return absl::FailedPreconditionError(StrCat("container ", id, " is not running"));
  }
  // The exec runs as the container's own process does (env, cwd, user, capabilities, rlimits,
  // apparmor/selinux labels), with the command replaced: what containerd's CRI does.
  nlohmann::json spec = nlohmann::json::parse(r.spec ? r.spec->value : std::string(), nullptr, false);
  if (!spec.is_object() || !spec.contains("process") || !spec["process"].is_object()) {
    return absl::InternalError(StrCat("container ", id, " has no process in its spec"));
  }
  nlohmann::json process = spec["process"];
  process["args"] = cmd;
  process["terminal"] = false;
  process.erase("consoleSize");

  const std::string exec_id = RandomHex(32);
  std::string io = IoDir(id);
  RETURN_IF_ERROR(MkdirAll(io, 0700));
  const std::string out = StrCat(io, "/", exec_id, "-stdout"), err = StrCat(io, "/", exec_id, "-stderr");
  int fds[2] = {-1, -1};
  auto cleanup_files = [&] {
    for (int& fd : fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    ::unlink(out.c_str());
    ::unlink(err.c_str());
  };
  for (int i = 0; i < 2; ++i) {
    const std::string& p = i == 0 ? out : err;
    if (::mkfifo(p.c_str(), 0600) != 0) {
      Status s = ErrnoStatus(errno, "mkfifo " + p);
      cleanup_files();
      return s;
    }
    // Read ends open before the shim opens the write ends, so nothing is lost if the process exits
    // at once.
    fds[i] = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fds[i] < 0) {
      Status s = ErrnoStatus(errno, "open " + p);
      cleanup_files();
      return s;
    }
  }
  if (Status s = d_.tasks.exec(id, exec_id, process.dump(), out, err); !s.ok()) {
    cleanup_files();
    (void)d_.tasks.exec_delete(id, exec_id);
    return Annotate(s, "failed to exec in container");
  }
  ExecResult res;
  std::atomic<bool> stop{false};
  std::promise<void> drained;
  std::future<void> drained_f = drained.get_future();
  std::thread reader([&, out_fd = fds[0], err_fd = fds[1]] {
    DrainExecOutput(out_fd, err_fd, kMaxExecOutput, &res.stdout_data, &res.stderr_data, &stop);
    drained.set_value();
  });
  fds[0] = fds[1] = -1;  // the reader owns them now
  auto code = d_.tasks.exec_wait(id, exec_id, timeout_s > 0 ? timeout_s * 1000 : -1);
  Status failure;
  if (absl::IsDeadlineExceeded(code.status())) {
    Status k = d_.tasks.exec_kill(id, exec_id, SIGKILL);
    if (!k.ok() && !absl::IsNotFound(k)) {
      BLOG(Warn) << "cri: kill exec " << exec_id << " in " << id << " after its timeout: " << k;
    }
    (void)d_.tasks.exec_wait(id, exec_id, 30000);
    failure = absl::DeadlineExceededError(StrCat("timeout ", timeout_s, "s exceeded"));
  } else if (!code.ok()) {
    failure = Annotate(code.status(), "failed to wait for exec in container");
  } else {
    res.exit_code = static_cast<int32_t>(*code);
  }
  // The shim closes the FIFOs once it copied the last output; a background child that keeps the
  // process's stdout open must not hold the call (or this thread) for ever.
  if (drained_f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) stop = true;
  reader.join();
  Status del = d_.tasks.exec_delete(id, exec_id);
  if (!del.ok() && !absl::IsNotFound(del)) {
    BLOG(Warn) << "cri: delete exec " << exec_id << " in " << id << ": " << del;
  }
  cleanup_files();
  if (!failure.ok()) return failure;
  return res;
}

Status ContainerManager::UpdateResources(const std::string& id_or_prefix, const ResourceUpdate& u) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  std::lock_guard<std::mutex> l(mu_);  // not concurrently with Start or another update
  ASSIGN_OR_RETURN(metadata::Container r, d_.containers->Get(kNamespace, id));
  ASSIGN_OR_RETURN(CriContainer c, FromRecord(r));
  if (!r.spec) return absl::InternalError(StrCat("container ", id, " has no spec"));
  nlohmann::json spec = nlohmann::json::parse(r.spec->value, nullptr, false);
  if (!spec.is_object()) return absl::InternalError(StrCat("container ", id, " has a bad spec"));
  nlohmann::json& res = spec["linux"]["resources"];
  if (u.cpu_period != 0) res["cpu"]["period"] = u.cpu_period;
  if (u.cpu_quota != 0) res["cpu"]["quota"] = u.cpu_quota;
  if (u.cpu_shares != 0) res["cpu"]["shares"] = u.cpu_shares;
  if (!u.cpuset_cpus.empty()) res["cpu"]["cpus"] = u.cpuset_cpus;
  if (!u.cpuset_mems.empty()) res["cpu"]["mems"] = u.cpuset_mems;
  if (u.memory_limit != 0) res["memory"]["limit"] = u.memory_limit;
  if (u.memory_swap_limit != 0) res["memory"]["swap"] = u.memory_swap_limit;
  for (const auto& [k, v] : u.unified) res["unified"][k] = v;
  const metadata::Container before = r;
  r.spec->value = spec.dump();
  c.config.cpu_period = u.cpu_period != 0 ? u.cpu_period : c.config.cpu_period;
  c.config.cpu_quota = u.cpu_quota != 0 ? u.cpu_quota : c.config.cpu_quota;
  c.config.cpu_shares = u.cpu_shares != 0 ? u.cpu_shares : c.config.cpu_shares;
  c.config.memory_limit = u.memory_limit != 0 ? u.memory_limit : c.config.memory_limit;
  if (!u.cpuset_cpus.empty()) c.config.cpuset_cpus = u.cpuset_cpus;
  if (!u.cpuset_mems.empty()) c.config.cpuset_mems = u.cpuset_mems;
  r.extensions[kContainerMetadataExtension] = metadata::AnyValue{kMetadataType, EncodeContainer(c)};
  const std::vector<std::string> paths = {"spec", StrCat("extensions.", kContainerMetadataExtension)};
  RETURN_IF_ERROR(d_.containers->Update(kNamespace, r, paths).status());
  if (c.state != ContainerState::kRunning) return Status();
  Status st = d_.tasks.update(id, res.dump());
  if (st.ok() || absl::IsNotFound(st)) return Status();
  // The task kept its old limits: so does the record.
  if (Status back = d_.containers->Update(kNamespace, before, paths).status(); !back.ok()) {
    BLOG(Warn) << "cri: restore the spec of " << id << " after a failed update: " << back;
  }
  return Annotate(st, "failed to update resources");
}

StatusOr<ContainerManager::StatsSample> ContainerManager::Sample(const CriContainer& c) {
  if (!d_.tasks.metrics) return absl::UnimplementedError("no task metrics");
  StatsSample out;
  out.container = c;
  ASSIGN_OR_RETURN(out.metrics, d_.tasks.metrics(c.id));
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    auto it = last_cpu_.find(c.id);
    if (it != last_cpu_.end()) {
      int64_t dt = out.metrics.timestamp - it->second.first;
      if (dt > 0 && out.metrics.cpu_usage_ns >= it->second.second) {
        out.usage_nano_cores = static_cast<uint64_t>(static_cast<double>(out.metrics.cpu_usage_ns - it->second.second) /
                                                     static_cast<double>(dt) * 1e9);
      }
    }
    if (it == last_cpu_.end() || out.metrics.timestamp > it->second.first) {
      last_cpu_[c.id] = {out.metrics.timestamp, out.metrics.cpu_usage_ns};
    }
  }
  if (d_.snapshots.usage) {
    auto u = d_.snapshots.usage(c.id);
    if (u.ok()) {
      out.has_writable_layer = true;
      out.layer_timestamp = NowNs();
      out.layer_bytes = static_cast<uint64_t>(std::max<int64_t>(u->size, 0));
      out.layer_inodes = static_cast<uint64_t>(std::max<int64_t>(u->inodes, 0));
      out.layer_mountpoint = d_.snapshotter_root;
    }
  }
  return out;
}

StatusOr<ContainerManager::StatsSample> ContainerManager::Stats(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(CriContainer c, Get(id_or_prefix));
  auto s = Sample(c);
  if (absl::IsNotFound(s.status())) {
    return absl::FailedPreconditionError(StrCat("container ", c.id, " has no running task to sample"));
  }
  return s;
}

StatusOr<std::vector<ContainerManager::StatsSample>> ContainerManager::ListStats(const ContainerFilter& filter) {
  ASSIGN_OR_RETURN(auto all, List(filter));
  std::vector<StatsSample> out;
  for (const auto& c : all) {
    auto s = Sample(c);
    if (s.ok()) {
      out.push_back(std::move(*s));
    } else if (!absl::IsNotFound(s.status())) {
      BLOG(Debug) << "cri: stats of container " << c.id << ": " << s.status();
    }
  }
  return out;
}

Status ContainerManager::ReopenLog(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(CriContainer c, Get(id_or_prefix));
  if (c.state != ContainerState::kRunning) {
    return absl::FailedPreconditionError("container is not running");
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = pumps_.find(c.id);
  if (it == pumps_.end()) return absl::FailedPreconditionError("container has no log reader");
  return it->second->Open();
}

Status ContainerManager::StopAll(const std::string& sandbox_id) {
  ASSIGN_OR_RETURN(auto all, List(ContainerFilter{.sandbox_id = sandbox_id}));
  for (const auto& c : all) RETURN_IF_ERROR(Stop(c.id, 0));
  return Status();
}

Status ContainerManager::RemoveAll(const std::string& sandbox_id) {
  ASSIGN_OR_RETURN(auto all, List(ContainerFilter{.sandbox_id = sandbox_id}));
  for (const auto& c : all) RETURN_IF_ERROR(Remove(c.id));
  return Status();
}

void ContainerManager::Recover() {
  auto all = List({});
  if (!all.ok()) {
    BLOG(Warn) << "cri: list containers: " << all.status();
    return;
  }
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& c : *all) {
    if (c.state != ContainerState::kRunning) continue;
    Status s = AttachLog(c, false);
    if (!s.ok()) {
      BLOG(Warn) << "cri: reattach logs of container " << c.id << ": " << s;
    }
  }
}

}  // namespace berth::cri
