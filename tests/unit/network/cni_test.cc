// Cni over fake plugins: shell scripts written into a temporary CNI_PATH that record their
// environment and stdin and print a result, so the exec layer and libcni's semantics (prevResult
// chaining, reverse DEL, capabilities, the cache) are checked without touching the host network.
#include "network/cni.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/fs.h"
#include "network/internal.h"

namespace berth::network {
namespace {

using nlohmann::json;

class CniTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cni-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bin_ = JoinPath(dir_, "bin");
    ASSERT_TRUE(MkdirAll(bin_).ok());
    ASSERT_TRUE(MkdirAll(JoinPath(dir_, "calls")).ok());
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }

  // A plugin named `name` that records each call as calls/<n>-<name>-<CMD>.{env,json}, appends
  // "<name> <CMD>" to calls/log, then runs `body` (which prints its result or error).
  void Plugin(const std::string& name, const std::string& body) {
    std::string calls = JoinPath(dir_, "calls");
    std::string script = StrCat(
        "#!/bin/sh\n", "n=$(cat ", calls, "/log 2>/dev/null | wc -l)\n", "n=$(echo $n)\n",
        "f=", calls, "/$n-", name, "-$CNI_COMMAND\n", "env | grep '^CNI_' | sort > $f.env\n",
        "cat > $f.json\n", "echo \"", name, " $CNI_COMMAND\" >> ", calls, "/log\n", body, "\n");
    std::string path = JoinPath(bin_, name);
    ASSERT_TRUE(WriteFileAtomic(path, script, 0755).ok());
  }
  std::string Log() {
    auto s = ReadFile(JoinPath(dir_, "calls/log"));
    return s.ok() ? *s : "";
  }
  // The stdin of call `n` (0-based, counting every plugin run) of plugin `name` for `cmd`.
  json Stdin(int n, const std::string& name, const std::string& cmd) {
    auto s = ReadFile(JoinPath(dir_, StrCat("calls/", n, "-", name, "-", cmd, ".json")));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? json::parse(*s) : json();
  }
  std::string Env(int n, const std::string& name, const std::string& cmd) {
    auto s = ReadFile(JoinPath(dir_, StrCat("calls/", n, "-", name, "-", cmd, ".env")));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : "";
  }
  Cni MakeCni(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Cni::Options o;
    o.plugin_dirs = {JoinPath(dir_, "empty"), bin_};
    o.cache_dir = JoinPath(dir_, "cache");
    o.plugin_timeout = timeout;
    return Cni(o);
  }
  NetworkConfigList Net(const std::string& doc) {
    auto l = ParseConfigList(doc);
    EXPECT_TRUE(l.ok()) << l.status();
    return *l;
  }
  Attachment Att() {
    Attachment a;
    a.container_id = "c1";
    a.netns_path = "/proc/self/ns/net";
    a.ifname = "eth0";
    a.args = {{"IgnoreUnknown", "1"}, {"K8S_POD_NAME", "p"}};
    return a;
  }

  std::string dir_, bin_;
};

// The first plugin answers a 0.4.0 result (with ips[].version); the second passes its prevResult
// through with one more interface, as chained plugins do.
constexpr char kResult040[] =
    R"({"cniVersion":"0.4.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","sandbox":"/proc/self/ns/net"}],"ips":[{"version":"4","address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0}],"dns":{}})";
constexpr char kResult100[] =
    R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","sandbox":"/proc/self/ns/net"},{"name":"extra"}],"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0}],"dns":{}})";

constexpr char kNet[] = R"({"cniVersion":"1.0.0","name":"testnet","plugins":[
    {"type":"first","opt":1},
    {"type":"second","capabilities":{"portMappings":true,"bandwidth":true}}]})";

TEST_F(CniTest, AddChainsResultsAndCaches) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult100, "'; exit 0"));
  Cni cni = MakeCni();
  NetworkConfigList net = Net(kNet);
  Attachment a = Att();
  a.port_mappings.push_back({8080, 80, "tcp", ""});
  a.capability_args["dns"] = {{"servers", {"1.1.1.1"}}};
  auto r = cni.Add(net, a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\n");
  EXPECT_EQ(r->cni_version, "1.0.0");
  EXPECT_EQ(r->interfaces.size(), 2u);
  EXPECT_EQ(r->FirstAddress("eth0"), "10.9.0.2");
  EXPECT_EQ(r->raw, json::parse(kResult100));

  // The environment libcni gives a plugin.
  std::string env = Env(0, "first", "ADD");
  EXPECT_NE(env.find("CNI_COMMAND=ADD\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_CONTAINERID=c1\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_NETNS=/proc/self/ns/net\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_IFNAME=eth0\n"), std::string::npos) << env;
  EXPECT_NE(env.find("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p\n"), std::string::npos) << env;
  EXPECT_NE(env.find(StrCat("CNI_PATH=", dir_, "/empty:", bin_, "\n")), std::string::npos) << env;

  // First: name and version injected, no prevResult, no runtimeConfig (no capabilities).
  json in1 = Stdin(0, "first", "ADD");
  EXPECT_EQ(in1, json::parse(R"({"type":"first","opt":1,"name":"testnet","cniVersion":"1.0.0"})"));
  // Second: the first's result converted to 1.0.0 as prevResult; only its declared capabilities.
  json in2 = Stdin(1, "second", "ADD");
  json want_prev = json::parse(kResult040);
  want_prev["cniVersion"] = "1.0.0";
  want_prev["ips"][0].erase("version");
  EXPECT_EQ(in2["prevResult"], want_prev);
  EXPECT_EQ(
      in2["runtimeConfig"],
      json::parse(R"({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]})"));

  // The cache, in libcni's layout and format.
  std::string path = JoinPath(dir_, "cache/results/testnet-c1-eth0");
  auto bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  json cache = json::parse(*bytes);
  EXPECT_EQ(cache["kind"], "cniCacheV1");
  EXPECT_EQ(cache["containerId"], "c1");
  EXPECT_EQ(cache["ifName"], "eth0");
  EXPECT_EQ(cache["networkName"], "testnet");
  EXPECT_EQ(cache["cniArgs"], json::parse(R"([["IgnoreUnknown","1"],["K8S_POD_NAME","p"]])"));
  EXPECT_EQ(cache["capabilityArgs"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_EQ(cache["capabilityArgs"]["dns"], a.capability_args["dns"]);
  EXPECT_EQ(cache["result"], json::parse(kResult100));
  EXPECT_EQ(cache["netns"], "/proc/self/ns/net");
  auto config = internal::Base64Decode(cache["config"].get<std::string>());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(json::parse(*config), net.raw);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // CachedResult and ListCached read it back.
  auto cached = cni.CachedResult("testnet", "c1", "eth0");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->raw, r->raw);
  EXPECT_EQ(cached->FirstAddress("eth0"), "10.9.0.2");
  EXPECT_EQ(cni.CachedResult("testnet", "c2", "eth0").status().code(), absl::StatusCode::kNotFound);
  auto list = cni.ListCached();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  const auto& c = (*list)[0];
  EXPECT_EQ(c.network, "testnet");
  EXPECT_EQ(c.container_id, "c1");
  EXPECT_EQ(c.ifname, "eth0");
  EXPECT_EQ(c.netns_path, "/proc/self/ns/net");
  EXPECT_EQ(c.config.name, "testnet");
  EXPECT_EQ(c.config.plugins.size(), 2u);
  EXPECT_EQ(c.attachment.container_id, "c1");
  EXPECT_EQ(c.attachment.args, a.args);
  ASSERT_EQ(c.attachment.port_mappings.size(), 1u);
  EXPECT_EQ(c.attachment.port_mappings[0].host_port, 8080);
  EXPECT_EQ(c.attachment.port_mappings[0].container_port, 80);
  EXPECT_EQ(c.attachment.capability_args.at("dns"), a.capability_args["dns"]);
}

TEST_F(CniTest, AddOfAnAttachedAttachmentIsAlreadyExists) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult100, "'; exit 0"));
  Cni cni = MakeCni();
  NetworkConfigList net = Net(kNet);
  ASSERT_TRUE(cni.Add(net, Att()).ok());
  auto again = cni.Add(net, Att());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\n");  // nothing ran, nothing undone
  Attachment other = Att();
  other.ifname = "eth1";
  ASSERT_TRUE(cni.Add(net, other).ok());
  ASSERT_TRUE(cni.Del(net, Att()).ok());
  ASSERT_TRUE(cni.Add(net, Att()).ok());
}

TEST_F(CniTest, DelRunsInReverseWithTheCachedResultAndIsIdempotent) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult100, "'; exit 0"));
  Cni cni = MakeCni();
  NetworkConfigList net = Net(kNet);
  Attachment a = Att();
  a.port_mappings.push_back({8080, 80, "tcp", ""});
  ASSERT_TRUE(cni.Add(net, a).ok());

  // A teardown that no longer knows the port mappings (or the args), in a namespace that is gone.
  Attachment bare;
  bare.container_id = "c1";
  bare.netns_path = JoinPath(dir_, "gone-netns");
  Status s = cni.Del(net, bare);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
  json in = Stdin(2, "second", "DEL");
  EXPECT_EQ(in["prevResult"], json::parse(kResult100));
  EXPECT_EQ(in["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);  // from the cache
  std::string env = Env(2, "second", "DEL");
  EXPECT_NE(env.find("CNI_NETNS=\n"), std::string::npos) << env;  // gone: passed empty
  EXPECT_NE(env.find("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p\n"), std::string::npos) << env;
  EXPECT_EQ(Stdin(3, "first", "DEL")["prevResult"], json::parse(kResult100));
  EXPECT_FALSE(access(JoinPath(dir_, "cache/results/testnet-c1-eth0").c_str(), F_OK) == 0);

  // Again: no cache, no prevResult, still OK.
  s = cni.Del(net, bare);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_FALSE(Stdin(4, "second", "DEL").contains("prevResult"));
  auto list = cni.ListCached();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(CniTest, DelBefore040HasNoPrevResult) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Cni cni = MakeCni();
  NetworkConfigList net =
      Net(R"({"cniVersion":"0.3.1","name":"old","plugins":[{"type":"first"}]})");
  ASSERT_TRUE(cni.Add(net, Att()).ok());
  ASSERT_TRUE(cni.Del(net, Att()).ok());
  EXPECT_FALSE(Stdin(1, "first", "DEL").contains("prevResult"));
  EXPECT_EQ(Stdin(1, "first", "DEL")["cniVersion"], "0.3.1");
}

TEST_F(CniTest, DelWithACorruptCachedResultStillRuns) {
  Plugin("first", "exit 0");
  ASSERT_TRUE(MkdirAll(JoinPath(dir_, "cache/results")).ok());
  json conf = json::parse(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"first"}]})");
  json entry = {{"kind", "cniCacheV1"},         {"containerId", "c1"},
                {"config", internal::Base64Encode(conf.dump())},
                {"ifName", "eth0"},             {"networkName", "n"},
                {"result", {{"cniVersion", "1.0.0"}, {"ips", "garbage"}}}};
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "cache/results/n-c1-eth0"), entry.dump()).ok());
  Cni cni = MakeCni();
  Status s = cni.Del(Net(conf.dump()), Att());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_FALSE(Stdin(0, "first", "DEL").contains("prevResult"));
  EXPECT_EQ(cni.CachedResult("n", "c1", "eth0").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CniTest, DelKeepsGoingAfterAFailureAndKeepsTheCache) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second", StrCat("[ \"$CNI_COMMAND\" = ADD ] && { echo '", kResult100,
                          "'; exit 0; }; echo '{\"code\":11,\"msg\":\"busy\"}'; exit 1"));
  Cni cni = MakeCni();
  NetworkConfigList net = Net(kNet);
  ASSERT_TRUE(cni.Add(net, Att()).ok());
  Status s = cni.Del(net, Att());
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("plugin type=\"second\" failed (delete): busy (code 11)"),
            std::string::npos)
      << s;
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
  EXPECT_TRUE(cni.CachedResult("testnet", "c1", "eth0").ok());  // kept for a retry
}

TEST_F(CniTest, CheckUsesTheCacheAndHonoursVersionAndDisableCheck) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult100, "'; exit 0"));
  Cni cni = MakeCni();
  NetworkConfigList net = Net(kNet);
  EXPECT_EQ(cni.Check(net, Att()).code(), absl::StatusCode::kNotFound);  // nothing added
  ASSERT_TRUE(cni.Add(net, Att()).ok());
  Status s = cni.Check(net, Att());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\nfirst CHECK\nsecond CHECK\n");
  EXPECT_EQ(Stdin(2, "first", "CHECK")["prevResult"], json::parse(kResult100));

  net.disable_check = true;
  ASSERT_TRUE(cni.Check(net, Att()).ok());
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\nfirst CHECK\nsecond CHECK\n");  // nothing ran

  NetworkConfigList old =
      Net(R"({"cniVersion":"0.3.1","name":"old","plugins":[{"type":"first"}]})");
  EXPECT_EQ(cni.Check(old, Att()).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CniTest, FailedAddIsUndoneInReverse) {
  Plugin("first", StrCat("[ \"$CNI_COMMAND\" = ADD ] && echo '", kResult040, "'; exit 0"));
  Plugin("second",
         "[ \"$CNI_COMMAND\" = DEL ] && exit 0; echo '{\"cniVersion\":\"1.0.0\",\"code\":7,"
         "\"msg\":\"bad config\",\"details\":\"no bridge\"}'; exit 1");
  Cni cni = MakeCni();
  auto r = cni.Add(Net(kNet), Att());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(
      r.status().message(),
      "network \"testnet\": plugin type=\"second\" failed (add): bad config; no bridge (code 7)");
  EXPECT_EQ(Log(), "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
  // The undo hands the first plugin's result to both, so IPAM can release what it gave.
  EXPECT_EQ(Stdin(3, "first", "DEL")["prevResult"]["ips"][0]["address"], "10.9.0.2/24");
  EXPECT_EQ(cni.CachedResult("testnet", "c1", "eth0").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CniTest, PluginFailuresWithoutAnErrorDocument) {
  Cni cni = MakeCni();
  NetworkConfigList net = Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"p"}]})");
  Plugin("p", "[ \"$CNI_COMMAND\" = DEL ] && exit 0; echo 'it broke' >&2; exit 3");
  auto r = cni.Add(net, Att());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("netplugin failed: it broke"), std::string::npos)
      << r.status();
  Plugin("p", "[ \"$CNI_COMMAND\" = DEL ] && exit 0; exit 4");
  r = cni.Add(net, Att());
  EXPECT_NE(r.status().message().find("no error message: exit status 4"), std::string::npos)
      << r.status();
  Plugin("p", "[ \"$CNI_COMMAND\" = DEL ] && exit 0; echo 'garbage'; exit 1");
  r = cni.Add(net, Att());
  EXPECT_NE(r.status().message().find("not a CNI error document: garbage"), std::string::npos)
      << r.status();
  Plugin("p",
         "[ \"$CNI_COMMAND\" = DEL ] && exit 0; echo "
         "'{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"nope\"}]}'");
  r = cni.Add(net, Att());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
}

TEST_F(CniTest, MissingPluginIsNotFoundNamingIt) {
  Cni cni = MakeCni();
  auto r =
      cni.Add(Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"nosuch"}]})"), Att());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("\"nosuch\""), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find(bin_), std::string::npos) << r.status();
  auto bad =
      cni.Add(Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../x"}]})"), Att());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CniTest, RejectsIdsLibcniWould) {
  Cni cni = MakeCni();
  NetworkConfigList net = Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"p"}]})");
  Attachment a = Att();
  a.container_id = "../etc";
  EXPECT_EQ(cni.Add(net, a).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cni.Del(net, a).code(), absl::StatusCode::kInvalidArgument);
  a = Att();
  a.ifname = "much-too-long-ifname";
  EXPECT_EQ(cni.Add(net, a).status().code(), absl::StatusCode::kInvalidArgument);
}

int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

TEST_F(CniTest, TimeoutKillsThePluginAndItsChildren) {
  std::string pidfile = JoinPath(dir_, "child.pid");
  Plugin("slow", StrCat("sleep 300 & echo $! > ", pidfile, "; wait"));
  Cni cni = MakeCni(std::chrono::milliseconds(500));
  int fds = OpenFds();
  auto r = cni.Add(Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"slow"}]})"), Att());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_NE(r.status().message().find("500 ms"), std::string::npos) << r.status();
  auto pid = ReadFile(pidfile);
  ASSERT_TRUE(pid.ok());
  // The sleep was in the plugin's process group: SIGKILLed with it (a zombie until init reaps
  // it at most, never still sleeping).
  pid_t child = std::stoi(*pid);
  std::string stat;
  for (int i = 0; i < 100; i++) {
    auto s = ReadFile(StrCat("/proc/", child, "/stat"));
    if (!s.ok()) break;
    stat = *s;
    if (stat.find(") Z") != std::string::npos) break;
    usleep(50 * 1000);
  }
  EXPECT_TRUE(stat.empty() || stat.find(") Z") != std::string::npos) << stat;
  EXPECT_EQ(OpenFds(), fds);  // pipes and the stdin memfd closed
}

TEST_F(CniTest, LargeConfigsAndOutputsPass) {
  // Bigger than a pipe buffer in both directions: no deadlock.
  Plugin("big",
         "[ \"$CNI_COMMAND\" = ADD ] || exit 0; head -c 200000 /dev/zero | tr '\\0' x >&2; "
         "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.9/24\"}]}'");
  std::string blob(300000, 'y');
  json doc = json::parse(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"big"}]})");
  doc["plugins"][0]["blob"] = blob;
  Cni cni = MakeCni();
  auto r = cni.Add(Net(doc.dump()), Att());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->FirstAddress("eth0"), "10.0.0.9");
  EXPECT_EQ(Stdin(0, "big", "ADD")["blob"], blob);
}

TEST_F(CniTest, ReadsLibcniWrittenAndLegacyCaches) {
  // A cache file as libcni writes it (no "netns"), and a legacy result-only file.
  ASSERT_TRUE(MkdirAll(JoinPath(dir_, "cache/results")).ok());
  json conf = json::parse(
      R"({"cniVersion":"0.4.0","name":"k8s-pod-network","plugins":[{"type":"first"}]})");
  json entry = {{"kind", "cniCacheV1"},
                {"containerId", "abc"},
                {"config", internal::Base64Encode(conf.dump())},
                {"ifName", "eth0"},
                {"networkName", "k8s-pod-network"},
                {"result", json::parse(kResult040)}};
  ASSERT_TRUE(
      WriteFileAtomic(JoinPath(dir_, "cache/results/k8s-pod-network-abc-eth0"), entry.dump()).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "cache/results/old-def-eth0"), kResult040).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "cache/results/junk-x-eth0"), "{").ok());
  Cni cni = MakeCni();
  auto list = cni.ListCached();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].network, "k8s-pod-network");
  EXPECT_EQ((*list)[0].netns_path, "");
  EXPECT_EQ((*list)[0].config.cni_version, "0.4.0");
  auto legacy = cni.CachedResult("old", "def", "eth0");
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(legacy->FirstAddress("eth0"), "10.9.0.2");
  // DEL from the cached config alone.
  Plugin("first", "exit 0");
  Status s = cni.Del((*list)[0].config, (*list)[0].attachment);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Stdin(0, "first", "DEL")["prevResult"], json::parse(kResult040));
}

TEST_F(CniTest, ConcurrentAttachmentsAndNoChildLeft) {
  // Prints a result with an address derived from the container id.
  ASSERT_TRUE(
      WriteFileAtomic(JoinPath(bin_, "plain"),
                      "#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                      "echo \"{\\\"cniVersion\\\":\\\"1.0.0\\\",\\\"ips\\\":[{\\\"address\\\":"
                      "\\\"10.0.0.${CNI_CONTAINERID#c}/24\\\"}]}\"\n",
                      0755)
          .ok());
  Cni cni = MakeCni();
  NetworkConfigList net = Net(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"plain"}]})");
  constexpr int kN = 8;
  std::vector<std::string> got(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; i++) {
    threads.emplace_back([&, i] {
      Attachment a = Att();
      a.container_id = StrCat("c", i + 10);
      auto r = cni.Add(net, a);
      got[i] = r.ok() ? r->FirstAddress("eth0") : std::string(r.status().message());
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kN; i++) EXPECT_EQ(got[i], StrCat("10.0.0.", i + 10));
  auto list = cni.ListCached();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<size_t>(kN));
  errno = 0;
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // every plugin was reaped
  EXPECT_EQ(errno, ECHILD);
}

TEST(Base64Test, RoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "{\"x\":1}\n\xff\x00z"}) {
    auto d = internal::Base64Decode(internal::Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(internal::Base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(internal::Base64Decode("a").ok());
  EXPECT_FALSE(internal::Base64Decode("a$==").ok());
}

}  // namespace
}  // namespace berth::network
