// Rendering of berthd's configuration as a version 2 TOML file (`berthd config default|dump`),
// and Go-style durations.
#include <cctype>
#include <cstdio>
#include <sstream>

#include "daemon/config.h"

namespace berth::daemon {
namespace {

// A TOML basic string.
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string Key(std::string_view k) {
  bool bare = !k.empty();
  for (char c : k) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  }
  return bare ? std::string(k) : Q(k);
}

std::string Strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Q(v[i]);
  return out + "]";
}

class Writer {
 public:
  explicit Writer(bool comments) : comments_(comments) {}
  // A comment (only in commented output); `text` may hold several lines.
  void C(int indent, std::string_view text) {
    if (!comments_) return;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) out_ << std::string(indent, ' ') << "# " << line << "\n";
  }
  void Line(int indent, std::string_view text) { out_ << std::string(indent, ' ') << text << "\n"; }
  void Blank() { out_ << "\n"; }
  std::string str() const { return out_.str(); }
  bool comments() const { return comments_; }

 private:
  bool comments_;
  std::ostringstream out_;
};

void Options(Writer& w, int in, const std::string& header, const RuncOptions& o) {
  w.Line(in, StrCat("[", header, "]"));
  in += 2;
  w.C(in, "The OCI runtime binary (a name in PATH or an absolute path; \"\" = runc) and its state root.");
  w.Line(in, StrCat("BinaryName = ", Q(o.binary_name)));
  w.Line(in, StrCat("Root = ", Q(o.root)));
  w.C(in, "Run the container's cgroup through systemd.");
  w.Line(in, StrCat("SystemdCgroup = ", o.systemd_cgroup ? "true" : "false"));
  w.Line(in, StrCat("NoPivotRoot = ", o.no_pivot_root ? "true" : "false"));
  w.Line(in, StrCat("NoNewKeyring = ", o.no_new_keyring ? "true" : "false"));
  w.C(in, "The cgroup the shim itself is moved into.");
  w.Line(in, StrCat("ShimCgroup = ", Q(o.shim_cgroup)));
  w.C(in, "Owner of the container's FIFOs and pty.");
  w.Line(in, StrCat("IoUid = ", o.io_uid));
  w.Line(in, StrCat("IoGid = ", o.io_gid));
  w.Line(in, StrCat("CriuPath = ", Q(o.criu_path)));
  w.Line(in, StrCat("CriuImagePath = ", Q(o.criu_image_path)));
  w.Line(in, StrCat("CriuWorkPath = ", Q(o.criu_work_path)));
}

}  // namespace

std::string RenderConfig(const Config& cfg, bool comments, const ShimResolver& resolve) {
  Writer w(comments);
  w.C(0,
      "berthd configuration, in containerd's version 2 layout. Every key berthd honours is listed.\n"
      "Other keys of containerd's are accepted and not used; keys containerd does not know either\n"
      "are warned about (with file and line) and ignored.");
  w.Line(0, "version = 2");
  w.Blank();
  w.C(0, "Persistent data: content, snapshots, metadata.");
  w.Line(0, StrCat("root = ", Q(cfg.root)));
  w.C(0, "Runtime state: sockets and task bundles.");
  w.Line(0, StrCat("state = ", Q(cfg.state)));
  w.C(0, "berthd's own oom_score_adj, set at start (0 = leave it); shims get it plus one.");
  w.Line(0, StrCat("oom_score = ", cfg.oom_score));
  w.Blank();
  w.Line(0, "[grpc]");
  w.C(2, "The unix socket serving containerd's gRPC API.");
  w.Line(2, StrCat("address = ", Q(cfg.grpc_address)));
  w.C(2, "Group owning the socket (mode 0660).");
  w.Line(2, StrCat("gid = ", cfg.gid));
  w.C(2, "Largest gRPC message received and sent, in bytes.");
  w.Line(2, StrCat("max_recv_message_size = ", cfg.max_recv_message_size));
  w.Line(2, StrCat("max_send_message_size = ", cfg.max_send_message_size));
  w.C(2, "Calls open at once on one client connection, further ones wait (berth's key; 0 = unbounded).");
  w.Line(2, StrCat("max_concurrent_streams = ", cfg.max_concurrent_streams));
  w.Blank();
  w.Line(0, "[ttrpc]");
  w.C(2, "The ttrpc socket shims forward their events to (\"\" = the gRPC address + \".ttrpc\").");
  w.Line(2, StrCat("address = ", Q(cfg.ttrpc_address)));
  w.Blank();
  w.Line(0, "[debug]");
  w.C(2, "Log level: trace, debug, info, warn or error.");
  w.Line(2, StrCat("level = ", Q(cfg.log_level)));
  w.Blank();
  w.Line(0, "[cgroup]");
  w.C(2, "A cgroup berthd moves itself into at start (\"\" = stay where started).");
  w.Line(2, StrCat("path = ", Q(cfg.cgroup_path)));
  w.Blank();
  w.C(0,
      "Runtime name (as clients send it) -> shim v2 binary: a name looked up in PATH (absolute\n"
      "entries only), then beside berthd's executable; or an absolute path. A runtime not listed\n"
      "resolves as containerd does: io.containerd.<name>.<version> runs containerd-shim-<name>-<version>,\n"
      "and an absolute path as the runtime name is run as is. containerd's own shim for runc v2 is\n"
      "one line away: shim = \"containerd-shim-runc-v2\".\n"
      "An optional \"options\" table (runc's Options, keys as in CRI's options tables) fills what the\n"
      "client's options leave unset.");
  w.Line(0, "[runtimes]");
  for (const auto& [name, r] : cfg.runtimes) {
    w.Blank();
    std::string header = StrCat("runtimes.", Key(name));
    w.Line(2, StrCat("[", header, "]"));
    std::string line = StrCat("shim = ", Q(r.shim));
    if (resolve) line += StrCat("  # ", resolve(name, r.shim));
    w.Line(4, line);
    if (r.options) {
      w.Blank();
      Options(w, 4, header + ".options", *r.options);
    }
  }
  w.Blank();
  w.Line(0, "[plugins]");
  w.Blank();
  w.C(2, "The restart monitor (containerd.io/restart.* container labels): how often it checks.");
  w.Line(2, "[plugins.\"io.containerd.internal.v1.restart\"]");
  w.Line(4, StrCat("interval = ", Q(FormatDuration(cfg.restart_monitor_interval_ms))));
  w.Blank();
  w.C(2,
      "Bounds on every layer berthd unpacks (Diff.Apply, pulls), each failing the unpack with\n"
      "ResourceExhausted: uncompressed bytes, tar entries, and, against decompression bombs, the\n"
      "ratio of uncompressed to compressed bytes of a compressed layer, checked once more than\n"
      "max_layer_ratio_floor uncompressed bytes came out (max_layer_ratio = 0: no ratio limit).");
  w.Line(2, "[plugins.\"io.containerd.service.v1.diff-service\"]");
  w.Line(4, StrCat("max_layer_size = ", cfg.max_layer_size));
  w.Line(4, StrCat("max_layer_entries = ", cfg.max_layer_entries));
  w.Line(4, StrCat("max_layer_ratio = ", cfg.max_layer_ratio));
  w.Line(4, StrCat("max_layer_ratio_floor = ", cfg.max_layer_ratio_floor));
  w.C(4, "Layers applied at once daemon-wide and pulls berthd runs at once (berth's keys; 0 = unbounded).");
  w.Line(4, StrCat("max_concurrent_unpacks = ", cfg.max_concurrent_unpacks));
  w.Line(4, StrCat("max_concurrent_pulls = ", cfg.max_concurrent_pulls));
  w.Blank();
  w.C(2,
      "The legacy runtime io.containerd.runtime.v1.linux, run by the v2 shim of\n"
      "runtimes.\"io.containerd.runtime.v1.linux\" (a \"shim\" key here sets that one too): the OCI\n"
      "runtime binary and its root, passed as containerd.linux.runc.RuncOptions to tasks whose client\n"
      "sends no options, or fills what the client's RuncOptions leave unset.");
  w.Line(2, "[plugins.\"io.containerd.runtime.v1.linux\"]");
  w.Line(4, StrCat("runtime = ", Q(cfg.linux_v1.runtime)));
  w.Line(4, StrCat("runtime_root = ", Q(cfg.linux_v1.runtime_root)));
  w.Blank();
  const std::string cri = "plugins.\"io.containerd.grpc.v1.cri\"";
  w.C(2, "The CRI server (Kubernetes RuntimeService/ImageService on berthd's socket).");
  w.Line(2, StrCat("[", cri, "]"));
  w.C(4,
      "The pause image of pod sandboxes; when it is neither present nor pullable, berthd imports\n"
      "its built-in pause program under this name.");
  w.Line(4, StrCat("sandbox_image = ", Q(cfg.cri.sandbox_image)));
  w.C(4, "Keep containers' oom_score_adj at or above berthd's own.");
  w.Line(4, StrCat("restrict_oom_score_adj = ", cfg.cri.restrict_oom_score_adj ? "true" : "false"));
  w.C(4, "Container log lines longer than this many bytes are split into partial (P) lines.");
  w.Line(4, StrCat("max_container_log_line_size = ", cfg.cri.max_container_log_line_size));
  w.C(4, "Pod network namespaces under the CRI state directory instead of /var/run/netns.");
  w.Line(4, StrCat("netns_mounts_under_state_dir = ", cfg.cri.netns_mounts_under_state_dir ? "true" : "false"));
  w.C(4, "Layers one pull downloads at once (CRI PullImage and berth pull).");
  w.Line(4, StrCat("max_concurrent_downloads = ", cfg.max_concurrent_downloads));
  w.Blank();
  w.Line(4, StrCat("[", cri, ".cni]"));
  w.C(6, "Where CNI plugins are (':'-separated) and where network configs (*.conflist, *.conf) are.");
  w.Line(6, StrCat("bin_dir = ", Q(cfg.cri.cni_bin_dir)));
  w.Line(6, StrCat("conf_dir = ", Q(cfg.cri.cni_conf_dir)));
  w.C(6, "How many networks (in file order) a pod is attached to.");
  w.Line(6, StrCat("max_conf_num = ", cfg.cri.cni_max_conf_num));
  w.Blank();
  w.Line(4, StrCat("[", cri, ".containerd]"));
  w.C(6, "The snapshotter of CRI images and containers.");
  w.Line(6, StrCat("snapshotter = ", Q(cfg.cri.snapshotter)));
  w.C(6, "The CRI runtime handler of pods that name none.");
  w.Line(6, StrCat("default_runtime_name = ", Q(cfg.cri.default_runtime_name)));
  for (const auto& [handler, r] : cfg.cri.runtimes) {
    w.Blank();
    std::string header = StrCat(cri, ".containerd.runtimes.", Key(handler));
    w.C(6,
        "A CRI runtime handler. Its options are also the defaults of tasks of its runtime_type\n"
        "(the default handler's first) when no [runtimes] row gives options.");
    w.Line(6, StrCat("[", header, "]"));
    w.C(8, "The runtime name of the handler's containers.");
    w.Line(8, StrCat("runtime_type = ", Q(r.runtime_type)));
    w.C(8, "The shim binary of the handler (\"\" = the one of runtime_type).");
    w.Line(8, StrCat("runtime_path = ", Q(r.runtime_path)));
    w.Line(8, StrCat("runtime_root = ", Q(r.runtime_root)));
    w.Line(8, StrCat("privileged_without_host_devices = ", r.privileged_without_host_devices ? "true" : "false"));
    w.Line(8, StrCat("pod_annotations = ", Strings(r.pod_annotations)));
    w.Line(8, StrCat("container_annotations = ", Strings(r.container_annotations)));
    w.Line(8, StrCat("base_runtime_spec = ", Q(r.base_runtime_spec)));
    if (r.options) {
      w.Blank();
      Options(w, 8, header + ".options", *r.options);
    }
  }
  return w.str();
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms % 1000 != 0) return StrCat(ms, "ms");
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += StrCat(s / 3600, "h");
  if (s >= 60) out += StrCat(s % 3600 / 60, "m");
  out += StrCat(s % 60, "s");
  return out;
}

StatusOr<int64_t> ParseDurationMs(std::string_view s) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid duration \"", s, "\"")); };
  if (s == "0") return 0;
  if (s.empty()) return bad();
  double total_ns = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return bad();
    double value;
    try {
      value = std::stod(std::string(s.substr(start, i - start)));
    } catch (const std::exception&) {
      return bad();
    }
    size_t ustart = i;
    while (i < s.size() && !isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else return bad();
    total_ns += value * mult;
  }
  // Converting a double beyond int64's range is undefined behaviour: refuse such durations.
  if (!(total_ns / 1e6 < 9.2e18)) return absl::InvalidArgumentError(StrCat("duration \"", s, "\" is out of range"));
  return static_cast<int64_t>(total_ns / 1e6 + 0.5);
}

}  // namespace berth::daemon
