#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fs.h"
#include "network/cni.h"
#include "network/internal.h"

namespace berth::network {
namespace {

using nlohmann::json;

constexpr char kList[] = R"({
  "cniVersion": "1.0.0", "name": "net1", "disableCheck": true,
  "plugins": [
    {"type": "bridge", "bridge": "b0", "ipam": {"type": "host-local"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]})";

TEST(ConfigTest, ParsesAConflist) {
  auto l = ParseConfigList(kList, false, "/etc/cni/net.d/10-net1.conflist");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->name, "net1");
  EXPECT_EQ(l->cni_version, "1.0.0");
  EXPECT_TRUE(l->disable_check);
  ASSERT_EQ(l->plugins.size(), 2u);
  EXPECT_EQ(l->plugins[0]["type"], "bridge");
  EXPECT_EQ(l->plugins[1]["type"], "portmap");
  EXPECT_EQ(l->source, "/etc/cni/net.d/10-net1.conflist");
  EXPECT_EQ(l->raw, json::parse(kList));
}

TEST(ConfigTest, WrapsASingleConfIntoAListOfOne) {
  auto l =
      ParseConfigList(R"({"cniVersion":"0.4.0","name":"n","type":"bridge","bridge":"x"})", true);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->name, "n");
  EXPECT_EQ(l->cni_version, "0.4.0");
  EXPECT_FALSE(l->disable_check);
  ASSERT_EQ(l->plugins.size(), 1u);
  EXPECT_EQ(l->plugins[0]["bridge"], "x");
  EXPECT_EQ(l->raw["name"], "n");
  EXPECT_EQ(l->raw["cniVersion"], "0.4.0");
  ASSERT_EQ(l->raw["plugins"].size(), 1u);
  EXPECT_EQ(l->raw["plugins"][0]["type"], "bridge");
}

TEST(ConfigTest, RejectsMalformedDocuments) {
  struct Case {
    const char* doc;
    bool single;
    const char* want;
  } cases[] = {
      {"{not json", false, "not valid JSON"},
      {"[1,2]", false, "not a JSON object"},
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})", false, "missing 'name'"},
      {R"({"name":7,"plugins":[{"type":"bridge"}]})", false, "'name' is not a string"},
      {R"({"name":"bad/name","plugins":[{"type":"bridge"}]})", false, "invalid network name"},
      {R"({"name":"n"})", false, "no 'plugins' key"},
      {R"({"name":"n","plugins":[]})", false, "no plugins in list"},
      {R"({"name":"n","plugins":{}})", false, "'plugins' is not an array"},
      {R"({"name":"n","plugins":[{"type":"bridge"},{"bridge":"x"}]})", false,
       "plugin 1: missing 'type'"},
      {R"({"name":"n","plugins":[{"type":""}]})", false, "'type' is not a non-empty string"},
      {R"({"name":"n","disableCheck":3,"plugins":[{"type":"x"}]})", false, "'disableCheck'"},
      {R"({"name":"n","cniVersion":"one","plugins":[{"type":"x"}]})", false, "invalid CNI version"},
      {R"({"name":"n","bridge":"x"})", true, "config: missing 'type'"},
      {R"({"type":"bridge"})", true, "missing 'name'"},
  };
  for (const auto& c : cases) {
    auto l = ParseConfigList(c.doc, c.single, "f.conflist");
    ASSERT_FALSE(l.ok()) << c.doc;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument) << c.doc;
    EXPECT_NE(l.status().message().find(c.want), std::string::npos)
        << c.doc << " -> " << l.status().message();
    EXPECT_NE(l.status().message().find("f.conflist"), std::string::npos) << c.doc;
  }
}

TEST(ConfigTest, DisableCheckAcceptsTheStringForm) {
  auto l = ParseConfigList(R"({"name":"n","disableCheck":"true","plugins":[{"type":"x"}]})");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->disable_check);
}

class ConfigDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cniconf-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  void Write(const std::string& name, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, name), data).ok());
  }
  std::string dir_;
};

TEST_F(ConfigDirTest, LoadsInLexicalOrderSkippingBadFiles) {
  Write("20-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"bridge"}]})");
  Write("10-a.conf", R"({"cniVersion":"0.4.0","name":"a","type":"ptp"})");
  Write("30-c.json", R"({"cniVersion":"0.3.1","name":"c","type":"macvlan"})");
  Write("15-broken.conflist", "{oops");
  Write("16-noname.conf", R"({"type":"bridge"})");
  Write("17-notype.conflist", R"({"name":"x","plugins":[{}]})");
  Write("05-ignored.txt", R"({"name":"txt","type":"bridge"})");
  ASSERT_EQ(mkdir(JoinPath(dir_, "00-dir.conf").c_str(), 0755), 0);
  auto nets = LoadConfigDir(dir_);
  ASSERT_TRUE(nets.ok()) << nets.status();
  ASSERT_EQ(nets->size(), 3u);
  EXPECT_EQ((*nets)[0].name, "a");
  EXPECT_EQ((*nets)[0].plugins[0]["type"], "ptp");
  EXPECT_EQ((*nets)[0].source, JoinPath(dir_, "10-a.conf"));
  EXPECT_EQ((*nets)[1].name, "b");
  EXPECT_EQ((*nets)[2].name, "c");
  EXPECT_EQ((*nets)[2].cni_version, "0.3.1");
}

TEST_F(ConfigDirTest, AbsentDirectoryIsEmpty) {
  auto nets = LoadConfigDir(JoinPath(dir_, "missing"));
  ASSERT_TRUE(nets.ok()) << nets.status();
  EXPECT_TRUE(nets->empty());
}

TEST(ConfigTest, ValidatesNamesAsLibcni) {
  EXPECT_TRUE(internal::ValidateContainerId("abc-1_2.3").ok());
  EXPECT_FALSE(internal::ValidateContainerId("").ok());
  EXPECT_FALSE(internal::ValidateContainerId("-abc").ok());
  EXPECT_FALSE(internal::ValidateContainerId("a/b").ok());
  EXPECT_TRUE(internal::ValidateInterfaceName("eth0").ok());
  EXPECT_TRUE(internal::ValidateInterfaceName("123456789012345").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("1234567890123456").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("..").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("a:b").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("a b").ok());
  EXPECT_FALSE(internal::ValidateInterfaceName("a/b").ok());
}

NetworkConfigList List(const char* doc) {
  auto l = ParseConfigList(doc);
  EXPECT_TRUE(l.ok()) << l.status();
  return *l;
}

TEST(BuildPluginConfigTest, InjectsNameAndVersionAndFiltersCapabilities) {
  NetworkConfigList net = List(R"({"cniVersion":"1.0.0","name":"net1","plugins":[
      {"type":"bridge","name":"ignored","cniVersion":"0.1.0"},
      {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}},
      {"type":"tuning","capabilities":{"mac":true},"runtimeConfig":{"keep":1}}]})");
  Attachment a;
  a.port_mappings.push_back({8080, 80, "tcp", ""});
  a.port_mappings.push_back({5353, 53, "udp", "127.0.0.1"});
  a.capability_args["bandwidth"] = {{"ingressRate", 1000}};
  a.capability_args["dns"] = {{"servers", {"1.1.1.1"}}};
  json caps = internal::CapabilityArgs(a);
  ASSERT_EQ(caps["portMappings"].size(), 2u);
  EXPECT_EQ(caps["portMappings"][0],
            json::parse(R"({"hostPort":8080,"containerPort":80,"protocol":"tcp"})"));
  EXPECT_EQ(caps["portMappings"][1]["hostIP"], "127.0.0.1");

  auto bridge = internal::BuildPluginConfig(net, net.plugins[0], nullptr, caps);
  ASSERT_TRUE(bridge.ok()) << bridge.status();
  EXPECT_EQ((*bridge)["name"], "net1");
  EXPECT_EQ((*bridge)["cniVersion"], "1.0.0");
  EXPECT_FALSE(bridge->contains("runtimeConfig"));  // declares no capabilities
  EXPECT_FALSE(bridge->contains("prevResult"));

  auto portmap = internal::BuildPluginConfig(net, net.plugins[1], nullptr, caps);
  ASSERT_TRUE(portmap.ok()) << portmap.status();
  // Only portMappings: bandwidth is declared but false, dns is not declared.
  EXPECT_EQ((*portmap)["runtimeConfig"], json({{"portMappings", caps["portMappings"]}}));

  // A capability the runtime has no argument for leaves runtimeConfig as written.
  auto tuning = internal::BuildPluginConfig(net, net.plugins[2], nullptr, caps);
  ASSERT_TRUE(tuning.ok()) << tuning.status();
  EXPECT_EQ((*tuning)["runtimeConfig"], json({{"keep", 1}}));
  a.capability_args["mac"] = "02:00:00:00:00:01";
  tuning = internal::BuildPluginConfig(net, net.plugins[2], nullptr, internal::CapabilityArgs(a));
  ASSERT_TRUE(tuning.ok()) << tuning.status();
  EXPECT_EQ((*tuning)["runtimeConfig"], json({{"mac", "02:00:00:00:00:01"}}));
}

TEST(BuildPluginConfigTest, InjectsPrevResultInTheListsVersion) {
  json prev = json::parse(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"eth0","sandbox":"/run/netns/x"}],
      "ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":0},
             {"address":"fd00::5/64","interface":0}]})");
  NetworkConfigList old = List(R"({"cniVersion":"0.4.0","name":"n","plugins":[{"type":"x"}]})");
  auto conf = internal::BuildPluginConfig(old, old.plugins[0], &prev, json::object());
  ASSERT_TRUE(conf.ok()) << conf.status();
  const json& p = (*conf)["prevResult"];
  EXPECT_EQ(p["cniVersion"], "0.4.0");
  EXPECT_EQ(p["ips"][0]["version"], "4");
  EXPECT_EQ(p["ips"][1]["version"], "6");
  EXPECT_EQ(p["ips"][0]["address"], "10.1.0.5/24");
  EXPECT_EQ(p["interfaces"], prev["interfaces"]);

  NetworkConfigList cur = List(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"}]})");
  conf = internal::BuildPluginConfig(cur, cur.plugins[0], &p, json::object());
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ((*conf)["prevResult"], prev);  // back to 1.0.0: no ips[].version
}

}  // namespace
}  // namespace berth::network
