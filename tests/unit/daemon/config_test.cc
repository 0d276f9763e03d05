#include "daemon/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "containerd/runc/options/oci.pb.h"
#include "runtime/shim_binary.h"

namespace berth::daemon {
namespace {

using Severity = ConfigNote::Severity;

std::vector<ConfigNote> Warnings(const std::vector<ConfigNote>& notes) {
  std::vector<ConfigNote> out;
  for (const auto& n : notes) {
    if (n.severity == Severity::kWarn) out.push_back(n);
  }
  return out;
}

std::string Joined(const std::vector<ConfigNote>& notes) {
  std::string s;
  for (const auto& n : notes) s += n.message + "\n";
  return s;
}

TEST(ConfigTest, DefaultsAndOverrides) {
  Config c;
  std::vector<ConfigNote> notes;
  ASSERT_TRUE(ParseConfig(R"(
version = 2
root = "/x/root"
[grpc]
address = "/x/sock"
gid = 42
[debug]
level = "debug"
[cgroup]
path = "/berth.slice"
)",
                          "test.toml", &c, &notes)
                  .ok());
  EXPECT_EQ(c.root, "/x/root");
  EXPECT_EQ(c.state, "/run/berth");
  EXPECT_EQ(c.grpc_address, "/x/sock");
  EXPECT_EQ(c.TtrpcAddress(), "/x/sock.ttrpc");
  EXPECT_EQ(c.gid, 42);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.cgroup_path, "/berth.slice");
  EXPECT_EQ(c.restart_monitor_interval_ms, 10000);
  EXPECT_TRUE(notes.empty()) << Joined(notes);
}

TEST(ConfigTest, MalformedNamesFileAndLine) {
  Config c;
  Status s = ParseConfig("root = \"/a\"\n\n[grpc\naddress = 1\n", "/etc/berth/config.toml", &c);
  ASSERT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("/etc/berth/config.toml:3"), std::string::npos) << s;
}

TEST(ConfigTest, UnknownKeysAreWarningsWithFileAndLine) {
  Config c;
  std::vector<ConfigNote> notes;
  Status s = ParseConfig("version = 2\nroot = \"/a\"\nroots = \"/b\"\n[grpc]\naddress = \"/s\"\nadress = \"/t\"\n",
                         "c.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.root, "/a");
  EXPECT_EQ(c.grpc_address, "/s");
  auto w = Warnings(notes);
  ASSERT_EQ(w.size(), 2u) << Joined(notes);
  EXPECT_NE(w[0].message.find("c.toml:3"), std::string::npos) << w[0].message;
  EXPECT_NE(w[0].message.find("\"roots\""), std::string::npos) << w[0].message;
  EXPECT_NE(w[1].message.find("c.toml:6"), std::string::npos) << w[1].message;
  EXPECT_NE(w[1].message.find("\"grpc.adress\""), std::string::npos) << w[1].message;
}

TEST(ConfigTest, WrongTypesAndBadValuesFail) {
  Config c;
  Status s = ParseConfig("[grpc]\naddress = 5\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("c.toml:2"), std::string::npos) << s;
  s = ParseConfig("[debug]\nlevel = \"loud\"\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  s = ParseConfig("version = 3\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  s = ParseConfig("version = 2\n[plugins.\"io.containerd.internal.v1.restart\"]\ninterval = \"often\"\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("c.toml:3"), std::string::npos) << s;
  // A shim relative to the working directory is refused.
  s = ParseConfig("[runtimes.\"io.containerd.runc.v2\"]\nshim = \"bin/containerd-shim-runc-v2\"\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("c.toml:2"), std::string::npos) << s;
}

TEST(ConfigTest, LayerLimits) {
  Config c;
  EXPECT_EQ(c.max_layer_ratio, 1000);
  Status s = ParseConfig(
      "version = 2\n[plugins.\"io.containerd.service.v1.diff-service\"]\ndefault = [\"walking\"]\n"
      "max_layer_size = 1048576\nmax_layer_entries = 10\nmax_layer_ratio = 50\nmax_layer_ratio_floor = 0\n",
      "c.toml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.max_layer_size, 1048576);
  EXPECT_EQ(c.max_layer_entries, 10);
  EXPECT_EQ(c.max_layer_ratio, 50);
  EXPECT_EQ(c.max_layer_ratio_floor, 0);
  s = ParseConfig("version = 2\n[plugins.\"io.containerd.service.v1.diff-service\"]\nmax_layer_size = 0\n", "c.toml",
                  &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("c.toml:3"), std::string::npos) << s;
  s = ParseConfig("version = 2\n[plugins.\"io.containerd.service.v1.diff-service\"]\nmax_layer_ratio = \"x\"\n",
                  "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  // The dump carries them.
  EXPECT_NE(RenderConfig(c, false).find("max_layer_ratio = 50"), std::string::npos);
}

// Issue 15's limits: message sizes and streams under [grpc], concurrent pulls and unpacks under
// the diff service, containerd's max_concurrent_downloads under the CRI plugin.
TEST(ConfigTest, ConcurrencyAndMessageLimits) {
  Config c;
  EXPECT_EQ(c.max_concurrent_streams, 0);
  EXPECT_EQ(c.max_concurrent_unpacks, 4);
  EXPECT_EQ(c.max_concurrent_pulls, 4);
  EXPECT_EQ(c.max_concurrent_downloads, 3);
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(
      "version = 2\n[grpc]\nmax_recv_message_size = 1024\nmax_send_message_size = 2048\nmax_concurrent_streams = 100\n"
      "[plugins.\"io.containerd.service.v1.diff-service\"]\nmax_concurrent_unpacks = 1\nmax_concurrent_pulls = 0\n"
      "[plugins.\"io.containerd.grpc.v1.cri\"]\nmax_concurrent_downloads = 5\n",
      "c.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  for (const auto& n : notes) EXPECT_NE(n.severity, ConfigNote::Severity::kWarn) << n.message;
  EXPECT_EQ(c.max_recv_message_size, 1024);
  EXPECT_EQ(c.max_send_message_size, 2048);
  EXPECT_EQ(c.max_concurrent_streams, 100);
  EXPECT_EQ(c.max_concurrent_unpacks, 1);
  EXPECT_EQ(c.max_concurrent_pulls, 0);
  EXPECT_EQ(c.max_concurrent_downloads, 5);
  std::string dump = RenderConfig(c, false);
  for (const char* line : {"max_concurrent_streams = 100", "max_concurrent_unpacks = 1", "max_concurrent_pulls = 0",
                           "max_concurrent_downloads = 5"}) {
    EXPECT_NE(dump.find(line), std::string::npos) << line;
  }
  for (const char* bad : {"[grpc]\nmax_concurrent_streams = -1\n", "[grpc]\nmax_recv_message_size = 0\n",
                          "[grpc]\nmax_send_message_size = 4294967296\n",
                          "[plugins.\"io.containerd.grpc.v1.cri\"]\nmax_concurrent_downloads = 0\n",
                          "[plugins.\"io.containerd.service.v1.diff-service\"]\nmax_concurrent_unpacks = -2\n"}) {
    Config d;
    s = ParseConfig(std::string("version = 2\n") + bad, "c.toml", &d);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad << ": " << s;
  }
}

// containerd 1.6's own `containerd config default` (abridged, every section kept) loads without
// warnings: its keys are known, the unused ones noted at debug level.
TEST(ConfigTest, ContainerdVersion2FileLoadsWithoutWarnings) {
  Config c;
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(R"(disabled_plugins = []
imports = []
oom_score = 0
plugin_dir = ""
required_plugins = []
root = "/var/lib/containerd"
state = "/run/containerd"
temp = ""
version = 2

[cgroup]
  path = ""

[debug]
  address = ""
  format = ""
  gid = 0
  level = ""
  uid = 0

[grpc]
  address = "/run/containerd/containerd.sock"
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216
  tcp_address = ""
  tcp_tls_ca = ""
  tcp_tls_cert = ""
  tcp_tls_key = ""
  uid = 0

[metrics]
  address = ""
  grpc_histogram = false

[plugins]

  [plugins."io.containerd.gc.v1.scheduler"]
    deletion_threshold = 0
    mutation_threshold = 100
    pause_threshold = 0.02
    schedule_delay = "0s"
    startup_delay = "100ms"

  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
    sandbox_image = "registry.k8s.io/pause:3.6"
    stream_idle_timeout = "4h0m0s"
    systemd_cgroup = false

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      disable_snapshot_annotations = true
      snapshotter = "overlayfs"

      [plugins."io.containerd.grpc.v1.cri".containerd.default_runtime]
        runtime_type = ""

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          base_runtime_spec = ""
          cni_conf_dir = ""
          cni_max_conf_num = 0
          container_annotations = []
          pod_annotations = []
          privileged_without_host_devices = false
          runtime_engine = ""
          runtime_path = ""
          runtime_root = ""
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = ""
            CriuImagePath = ""
            CriuPath = ""
            CriuWorkPath = ""
            IoGid = 0
            IoUid = 0
            NoNewKeyring = false
            NoPivotRoot = false
            Root = ""
            ShimCgroup = ""
            SystemdCgroup = true

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""

      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]

  [plugins."io.containerd.internal.v1.opt"]
    path = "/opt/containerd"

  [plugins."io.containerd.internal.v1.restart"]
    interval = "1m30s"

  [plugins."io.containerd.metadata.v1.bolt"]
    content_sharing_policy = "shared"

  [plugins."io.containerd.monitor.v1.cgroups"]
    no_prometheus = false

  [plugins."io.containerd.runtime.v1.linux"]
    no_shim = false
    runtime = "crun"
    runtime_root = "/run/crun-v1"
    shim = "containerd-shim"
    shim_debug = false

  [plugins."io.containerd.runtime.v2.task"]
    platforms = ["linux/amd64"]
    sched_core = false

  [plugins."io.containerd.service.v1.diff-service"]
    default = ["walking"]

  [plugins."io.containerd.snapshotter.v1.overlayfs"]
    root_path = ""
    upperdir_label = false

  [plugins."io.containerd.snapshotter.v1.devmapper"]
    pool_name = ""

[proxy_plugins]

[stream_processors]

  [stream_processors."io.containerd.ocicrypt.decoder.v1.tar"]
    path = "ctd-decoder"

[timeouts]
  "io.containerd.timeout.shim.cleanup" = "5s"

[ttrpc]
  address = ""
  gid = 0
  uid = 0
)",
                         "containerd.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(Warnings(notes).empty()) << Joined(notes);
  EXPECT_FALSE(notes.empty());  // the unused keys are noted at debug level
  EXPECT_EQ(c.root, "/var/lib/containerd");
  EXPECT_EQ(c.log_level, "info");  // level = "" keeps the default
  EXPECT_EQ(c.restart_monitor_interval_ms, 90000);
  EXPECT_EQ(c.linux_v1.runtime, "crun");
  EXPECT_EQ(c.linux_v1.runtime_root, "/run/crun-v1");
  // containerd's v1 shim cannot be driven by berthd: the v2 shim stays.
  EXPECT_EQ(c.runtimes[kRuntimeLinuxV1].shim, kBerthShim);
  ASSERT_EQ(c.cri.runtimes.count("runc"), 1u);
  ASSERT_TRUE(c.cri.runtimes["runc"].options);
  EXPECT_TRUE(c.cri.runtimes["runc"].options->systemd_cgroup);
}

TEST(ConfigTest, Version1FileUsesShortPluginIds) {
  Config c;
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(R"(root = "/v1/root"
[plugins.linux]
  runtime = "crun"
  shim = "/opt/bin/containerd-shim-berth-v2"
[plugins.restart]
  interval = "250ms"
[plugins.cri.containerd.runtimes.kata]
  runtime_type = "io.containerd.kata.v2"
[plugins.cri.containerd.runtimes.kata.options]
  ConfigPath = "/etc/kata.toml"
[plugins.overlayfs]
  root_path = ""
[plugins.scheduler]
  pause_threshold = 0.02
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "x"
)",
                         "v1.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.root, "/v1/root");
  EXPECT_EQ(c.linux_v1.runtime, "crun");
  EXPECT_EQ(c.runtimes[kRuntimeLinuxV1].shim, "/opt/bin/containerd-shim-berth-v2");
  EXPECT_EQ(c.restart_monitor_interval_ms, 250);
  EXPECT_EQ(c.cri.runtimes["kata"].runtime_type, "io.containerd.kata.v2");
  EXPECT_FALSE(c.cri.runtimes["kata"].options);  // not runc's options: opaque to berthd
  // A full id in a version 1 file is not a plugin name there.
  auto w = Warnings(notes);
  ASSERT_EQ(w.size(), 1u) << Joined(notes);
  EXPECT_NE(w[0].message.find("v1.toml:15"), std::string::npos) << w[0].message;
  EXPECT_NE(w[0].message.find("version = 2"), std::string::npos) << w[0].message;
}

TEST(ConfigTest, UnknownPluginsAndPluginKeysWarn) {
  Config c;
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(R"(version = 2
[plugins."io.example.v1.nothing"]
  a = 1
[plugins."io.containerd.snapshotter.v1.overlayfs"]
  root_path = ""
  rootpath = ""
[plugins.cri]
  x = 1
[plugins."io.containerd.monitor.v1.restart"]
  interval = "3s"
  intervall = "3s"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryNam = "crun"
)",
                         "p.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.restart_monitor_interval_ms, 3000);
  auto w = Warnings(notes);
  ASSERT_EQ(w.size(), 5u) << Joined(notes);
  EXPECT_NE(w[0].message.find("p.toml:2: unknown plugin \"io.example.v1.nothing\""), std::string::npos) << w[0].message;
  EXPECT_NE(w[1].message.find("p.toml:6"), std::string::npos) << w[1].message;
  EXPECT_NE(w[2].message.find("p.toml:7"), std::string::npos) << w[2].message;
  EXPECT_NE(w[2].message.find("io.containerd.grpc.v1.cri"), std::string::npos) << w[2].message;
  EXPECT_NE(w[3].message.find("p.toml:11"), std::string::npos) << w[3].message;
  EXPECT_NE(w[4].message.find("p.toml:13"), std::string::npos) << w[4].message;
  EXPECT_NE(w[4].message.find("BinaryNam"), std::string::npos) << w[4].message;
}

TEST(ConfigTest, NoShimIsWarned) {
  Config c;
  std::vector<ConfigNote> notes;
  ASSERT_TRUE(ParseConfig("version = 2\n[plugins.\"io.containerd.runtime.v1.linux\"]\nno_shim = true\n", "n.toml", &c,
                          &notes)
                  .ok());
  auto w = Warnings(notes);
  ASSERT_EQ(w.size(), 1u) << Joined(notes);
  EXPECT_NE(w[0].message.find("n.toml:3"), std::string::npos);
}

TEST(ConfigTest, DefaultTextRoundTripsWithoutNotes) {
  std::string text = DefaultConfigText();
  for (const char* key : {"root =", "state =", "[grpc]", "address =", "gid =", "max_recv_message_size",
                          "[ttrpc]", "[debug]", "level =", "[cgroup]", "path =", "[runtimes.\"io.containerd.runc.v2\"]",
                          "[runtimes.\"io.containerd.runc.v1\"]", "[runtimes.\"io.containerd.runtime.v1.linux\"]",
                          "shim = \"containerd-shim-berth-v2\"", "interval = \"10s\"", "runtime = \"runc\"",
                          "runtime_root", "default_runtime_name", "runtime_type = \"io.containerd.runc.v2\"",
                          "BinaryName", "SystemdCgroup", "# "}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
  Config c;
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(text, "default.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s << "\n" << text;
  EXPECT_TRUE(notes.empty()) << Joined(notes);
  EXPECT_EQ(RenderConfig(c, true), text);
}

TEST(ConfigTest, DumpRoundTripsAnEditedConfig) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"(version = 2
state = "/s \"quoted\""
[runtimes."io.containerd.runc.v2"]
  shim = "containerd-shim-runc-v2"
  options = { BinaryName = "crun", SystemdCgroup = true, IoUid = 7 }
[runtimes."io.containerd.kata.v2"]
  shim = "/opt/kata/bin/containerd-shim-kata-v2"
[plugins."io.containerd.internal.v1.restart"]
  interval = "1h1m1s"
)",
                          "e.toml", &c)
                  .ok());
  EXPECT_EQ(c.runtimes[kRuntimeRuncV2].shim, "containerd-shim-runc-v2");
  ASSERT_TRUE(c.runtimes[kRuntimeRuncV2].options);
  EXPECT_EQ(c.runtimes[kRuntimeRuncV2].options->binary_name, "crun");
  EXPECT_EQ(c.runtimes[kRuntimeRuncV2].options->io_uid, 7u);
  EXPECT_EQ(c.runtimes[kRuntimeRuncV1].shim, kBerthShim);  // defaults kept beside the override
  EXPECT_EQ(c.restart_monitor_interval_ms, 3661000);
  std::string dump = RenderConfig(c, false, [](const std::string& rt, const std::string& shim) { return "-> " + rt; });
  EXPECT_NE(dump.find("shim = \"containerd-shim-runc-v2\"  # -> io.containerd.runc.v2"), std::string::npos) << dump;
  Config back;
  std::vector<ConfigNote> notes;
  ASSERT_TRUE(ParseConfig(dump, "dump.toml", &back, &notes).ok()) << dump;
  EXPECT_TRUE(notes.empty()) << Joined(notes);
  EXPECT_EQ(back.state, c.state);
  EXPECT_EQ(back.runtimes, c.runtimes);
  EXPECT_EQ(back.restart_monitor_interval_ms, c.restart_monitor_interval_ms);
  EXPECT_EQ(back.RuntimeShims(), c.RuntimeShims());
}

TEST(ConfigTest, Durations) {
  EXPECT_EQ(*ParseDurationMs("10s"), 10000);
  EXPECT_EQ(*ParseDurationMs("100ms"), 100);
  EXPECT_EQ(*ParseDurationMs("1.5s"), 1500);
  EXPECT_EQ(*ParseDurationMs("1h2m3s"), 3723000);
  EXPECT_EQ(*ParseDurationMs("0s"), 0);
  EXPECT_FALSE(ParseDurationMs("10").ok());
  EXPECT_FALSE(ParseDurationMs("s").ok());
  EXPECT_FALSE(ParseDurationMs("3 days").ok());
  EXPECT_FALSE(ParseDurationMs("99999999999999999999h").ok());  // beyond int64 milliseconds
  EXPECT_EQ(FormatDuration(10000), "10s");
  EXPECT_EQ(FormatDuration(90000), "1m30s");
  EXPECT_EQ(FormatDuration(3600000), "1h0m0s");
  EXPECT_EQ(FormatDuration(250), "250ms");
}

// --- runtime options ---

containerd::runc::v1::Options Decode(const RuntimeOptionsAny& a) {
  containerd::runc::v1::Options o;
  EXPECT_TRUE(o.ParseFromString(a.value));
  return o;
}

TEST(ConfigTest, OptionsDefaultsFillWhatTheClientLeftUnset) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"([runtimes."io.containerd.runc.v2"]
  options = { BinaryName = "/bad/runc", Root = "/run/x" }
)",
                          "o.toml", &c)
                  .ok());
  // Nothing sent: the configured options.
  auto none = EffectiveRuntimeOptions(c, kRuntimeRuncV2, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->type_url, "containerd.runc.v1.Options");
  EXPECT_EQ(Decode(*none).binary_name(), "/bad/runc");
  // ctr sends an empty Options for runc.v2: still the configured ones.
  auto empty = EffectiveRuntimeOptions(c, kRuntimeRuncV2, RuntimeOptionsAny{"containerd.runc.v1.Options", ""});
  ASSERT_TRUE(empty);
  EXPECT_EQ(Decode(*empty).binary_name(), "/bad/runc");
  EXPECT_EQ(Decode(*empty).root(), "/run/x");
  // The client's fields win, the others come from the configuration.
  containerd::runc::v1::Options sent;
  sent.set_binary_name("crun");
  sent.set_systemd_cgroup(true);
  auto merged = EffectiveRuntimeOptions(
      c, kRuntimeRuncV2, RuntimeOptionsAny{"types.googleapis.com/containerd.runc.v1.Options", sent.SerializeAsString()});
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->type_url, "types.googleapis.com/containerd.runc.v1.Options");
  EXPECT_EQ(Decode(*merged).binary_name(), "crun");
  EXPECT_EQ(Decode(*merged).root(), "/run/x");
  EXPECT_TRUE(Decode(*merged).systemd_cgroup());
  // Other option types pass unchanged.
  auto other = EffectiveRuntimeOptions(c, kRuntimeRuncV2, RuntimeOptionsAny{"runtimeoptions.v1.Options", "\x0a\x01x"});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->type_url, "runtimeoptions.v1.Options");
  EXPECT_EQ(other->value, "\x0a\x01x");
  // A runtime without configured options gets none.
  EXPECT_FALSE(EffectiveRuntimeOptions(c, "io.containerd.berth.v2", std::nullopt));
  EXPECT_FALSE(EffectiveRuntimeOptions(Config{}, kRuntimeRuncV2, std::nullopt));
}

TEST(ConfigTest, CriHandlerOptionsAreDefaultsOfTheirRuntimeType) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"(version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "b"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.a]
  runtime_type = "io.containerd.runc.v2"
  options = { BinaryName = "from-a" }
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.b]
  runtime_type = "io.containerd.runc.v2"
  options = { BinaryName = "from-b" }
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.c]
  runtime_type = "io.containerd.runc.v1"
  options = { BinaryName = "from-c" }
)",
                          "cri.toml", &c)
                  .ok());
  EXPECT_EQ(Decode(*EffectiveRuntimeOptions(c, kRuntimeRuncV2, std::nullopt)).binary_name(), "from-b");
  EXPECT_EQ(Decode(*EffectiveRuntimeOptions(c, kRuntimeRuncV1, std::nullopt)).binary_name(), "from-c");
  // A [runtimes] row's options come first.
  c.runtimes[kRuntimeRuncV2].options = RuncOptions{.binary_name = "from-row"};
  EXPECT_EQ(Decode(*EffectiveRuntimeOptions(c, kRuntimeRuncV2, std::nullopt)).binary_name(), "from-row");
}

TEST(ConfigTest, LinuxV1GetsRuncOptionsFromItsPlugin) {
  Config c;
  ASSERT_TRUE(ParseConfig("version = 2\n[plugins.\"io.containerd.runtime.v1.linux\"]\nruntime = \"/bad/runc\"\n"
                          "runtime_root = \"/run/v1\"\n",
                          "l.toml", &c)
                  .ok());
  auto o = EffectiveRuntimeOptions(c, kRuntimeLinuxV1, std::nullopt);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type_url, "containerd.linux.runc.RuncOptions");
  // runtime = 1, runtime_root = 2 (containerd.linux.runc.RuncOptions).
  EXPECT_EQ(o->value, std::string("\x0a\x09/bad/runc\x12\x07/run/v1"));
  // The default is runc.
  auto d = EffectiveRuntimeOptions(Config{}, kRuntimeLinuxV1, std::nullopt);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, std::string("\x0a\x04runc"));
  // Fields a client's RuncOptions leave unset come from the plugin's configuration.
  auto m = EffectiveRuntimeOptions(c, kRuntimeLinuxV1,
                                   RuntimeOptionsAny{"containerd.linux.runc.RuncOptions", std::string("\x12\x02/r")});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->value, std::string("\x0a\x09/bad/runc\x12\x07/run/v1\x12\x02/r"));
}

// --- shim binary resolution ---

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-resolve-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(MkdirAll(dir_ + "/path1", 0755).ok());
    ASSERT_TRUE(MkdirAll(dir_ + "/path2", 0755).ok());
    ASSERT_TRUE(MkdirAll(dir_ + "/self", 0755).ok());
    ASSERT_TRUE(MkdirAll(dir_ + "/cwd/rel", 0755).ok());
  }
  void TearDown() override {
    if (!old_cwd_.empty()) {
      EXPECT_EQ(chdir(old_cwd_.c_str()), 0);
    }
    std::string cmd = "rm -rf " + dir_;
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  void Exe(const std::string& path) { ASSERT_TRUE(WriteFileAtomic(path, "#!/bin/sh\n", 0755).ok()); }
  StatusOr<std::string> Resolve(const std::string& rt, const Config& c, const std::string& path) {
    return runtime::ResolveShimBinary(rt, c.RuntimeShims(), dir_ + "/self/berthd", path);
  }
  std::string dir_;
  std::string old_cwd_;
};

TEST_F(ResolveTest, DefaultTableRunsTheBerthShimForRuncAndLegacyNames) {
  Exe(dir_ + "/path2/containerd-shim-berth-v2");
  Exe(dir_ + "/path2/containerd-shim-runc-v2");
  Config c;
  std::string path = dir_ + "/path1:" + dir_ + "/path2";
  for (const char* rt : {kRuntimeRuncV2, kRuntimeRuncV1, kRuntimeLinuxV1, "io.containerd.berth.v2"}) {
    auto b = Resolve(rt, c, path);
    ASSERT_TRUE(b.ok()) << rt << ": " << b.status();
    EXPECT_EQ(*b, dir_ + "/path2/containerd-shim-berth-v2") << rt;
  }
  // One config line away: containerd's shim.
  ASSERT_TRUE(ParseConfig("[runtimes.\"io.containerd.runc.v2\"]\nshim = \"containerd-shim-runc-v2\"\n", "x", &c).ok());
  EXPECT_EQ(*Resolve(kRuntimeRuncV2, c, path), dir_ + "/path2/containerd-shim-runc-v2");
  EXPECT_EQ(*Resolve(kRuntimeRuncV1, c, path), dir_ + "/path2/containerd-shim-berth-v2");
}

TEST_F(ResolveTest, UnlistedNamesResolveAsContainerdDoes) {
  Exe(dir_ + "/path1/containerd-shim-kata-v2");
  Exe(dir_ + "/self/containerd-shim-beside-v2");
  Exe(dir_ + "/abs-shim");
  Config c;
  std::string path = dir_ + "/path1";
  EXPECT_EQ(*Resolve("io.containerd.kata.v2", c, path), dir_ + "/path1/containerd-shim-kata-v2");
  // Beside berthd's executable, after PATH (containerd's side-by-side rule).
  EXPECT_EQ(*Resolve("io.containerd.beside.v2", c, path), dir_ + "/self/containerd-shim-beside-v2");
  EXPECT_EQ(*Resolve(dir_ + "/abs-shim", c, path), dir_ + "/abs-shim");
  auto missing = Resolve("io.containerd.nope.v2", c, path);
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_NE(missing.status().message().find("containerd-shim-nope-v2"), std::string::npos) << missing.status();
  EXPECT_TRUE(absl::IsNotFound(Resolve(dir_ + "/no-such-shim", c, path).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Resolve("nodots", c, path).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Resolve("rel/io.containerd.kata.v2", c, path).status()));
  // A table row with an absolute path.
  c.runtimes["io.containerd.kata.v2"].shim = dir_ + "/abs-shim";
  EXPECT_EQ(*Resolve("io.containerd.kata.v2", c, path), dir_ + "/abs-shim");
  // A configured binary that is missing names it.
  c.runtimes[kRuntimeRuncV2].shim = "containerd-shim-missing-v9";
  auto gone = Resolve(kRuntimeRuncV2, c, path);
  EXPECT_TRUE(absl::IsNotFound(gone.status()));
  EXPECT_NE(gone.status().message().find("containerd-shim-missing-v9"), std::string::npos) << gone.status();
}

TEST_F(ResolveTest, EmptyAndRelativePathEntriesAreIgnored) {
  Exe(dir_ + "/cwd/containerd-shim-kata-v2");
  Exe(dir_ + "/cwd/rel/containerd-shim-kata-v2");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  old_cwd_ = cwd;
  ASSERT_EQ(chdir((dir_ + "/cwd").c_str()), 0);
  Config c;
  // "" and "." mean the working directory to a shell; "rel" is relative to it: none is searched.
  auto b = Resolve("io.containerd.kata.v2", c, ":.:rel:" + dir_ + "/path1");
  EXPECT_TRUE(absl::IsNotFound(b.status())) << (b.ok() ? *b : "");
  Exe(dir_ + "/path1/containerd-shim-kata-v2");
  EXPECT_EQ(*Resolve("io.containerd.kata.v2", c, ":.:rel:" + dir_ + "/path1"), dir_ + "/path1/containerd-shim-kata-v2");
}

TEST(Config, CriKeysByContainerdsNames) {
  Config c;
  EXPECT_EQ(c.cri.sandbox_image, "registry.k8s.io/pause:3.6");
  EXPECT_FALSE(c.cri.restrict_oom_score_adj);
  std::vector<ConfigNote> notes;
  Status s = ParseConfig(R"(version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "local/pause:1"
  restrict_oom_score_adj = true
  max_container_log_line_size = 100
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/tmp/net.d"
    max_conf_num = 2
    conf_template = ""
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
)",
                         "cri.toml", &c, &notes);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.cri.sandbox_image, "local/pause:1");
  EXPECT_TRUE(c.cri.restrict_oom_score_adj);
  EXPECT_EQ(c.cri.max_container_log_line_size, 100);
  EXPECT_EQ(c.cri.cni_bin_dir, "/opt/cni/bin");
  EXPECT_EQ(c.cri.cni_conf_dir, "/tmp/net.d");
  EXPECT_EQ(c.cri.cni_max_conf_num, 2);
  EXPECT_EQ(c.cri.snapshotter, "native");
  EXPECT_TRUE(Warnings(notes).empty()) << Joined(notes);
  // The rendered config parses back to the same values.
  Config back;
  std::vector<ConfigNote> notes2;
  ASSERT_TRUE(ParseConfig(RenderConfig(c, true), "dump.toml", &back, &notes2).ok());
  EXPECT_EQ(back.cri.sandbox_image, "local/pause:1");
  EXPECT_EQ(back.cri.cni_conf_dir, "/tmp/net.d");
  EXPECT_TRUE(back.cri.restrict_oom_score_adj);
  EXPECT_EQ(back.cri.snapshotter, "native");
  EXPECT_TRUE(notes2.empty()) << Joined(notes2);
  Status bad = ParseConfig("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = 3\n", "bad.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
}

}  // namespace
}  // namespace berth::daemon
