// The berth CLI's networking that needs no daemon: -p parsing, -P from EXPOSE, port lines,
// /etc/hosts rendering, --network resolution, and networks as conflists in a temporary directory
// (create, look up, subnet choice, the spec's hooks).
#include "cmd/berth/networks.h"

#include "cmd/berth/net_internal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cmd/berth/spec_build.h"
#include "network/cni.h"

namespace berth::cli {
namespace {

PortPublish P(std::string ip, uint16_t host, uint16_t ctr, std::string proto = "tcp") {
  PortPublish p;
  p.host_ip = std::move(ip);
  p.host_port = host;
  p.container_port = ctr;
  p.protocol = std::move(proto);
  return p;
}

TEST(ParsePublish, Forms) {
  EXPECT_EQ(*ParsePublish("8080:80"), std::vector<PortPublish>{P("", 8080, 80)});
  EXPECT_EQ(*ParsePublish("80"), std::vector<PortPublish>{P("", 0, 80)});
  EXPECT_EQ(*ParsePublish("127.0.0.1:8080:80/udp"), std::vector<PortPublish>{P("127.0.0.1", 8080, 80, "udp")});
  EXPECT_EQ(*ParsePublish("127.0.0.1::80"), std::vector<PortPublish>{P("127.0.0.1", 0, 80)});
  EXPECT_EQ(*ParsePublish("[::1]:8080:80"), std::vector<PortPublish>{P("::1", 8080, 80)});
  EXPECT_EQ(*ParsePublish("53:53/sctp"), std::vector<PortPublish>{P("", 53, 53, "sctp")});
  EXPECT_EQ(*ParsePublish("8000-8001:80-81"), (std::vector<PortPublish>{P("", 8000, 80), P("", 8001, 81)}));
  EXPECT_EQ(*ParsePublish("80-81"), (std::vector<PortPublish>{P("", 0, 80), P("", 0, 81)}));
}

TEST(ParsePublish, Errors) {
  for (const char* bad : {"", "x:80", "8080:", "8080:0", "8080:70000", "1.2.3:80:80", "8080:80/icmp",
                          "8000-8002:80-81", "::1:8080:80", "[::1]8080:80", "a:b:c:d", "81-80"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParsePublish(bad).status())) << bad;
  }
}

TEST(ExposedPorts, FromImageConfig) {
  auto ports = ExposedPorts(R"({"config":{"ExposedPorts":{"80/tcp":{},"53/udp":{}}}})");
  EXPECT_EQ(ports, (std::vector<PortPublish>{P("", 0, 53, "udp"), P("", 0, 80)}));
  EXPECT_TRUE(ExposedPorts(R"({"config":{}})").empty());
  EXPECT_TRUE(ExposedPorts("not json").empty());
}

TEST(PortLine, DockerFormat) {
  EXPECT_EQ(PortLine(P("", 8080, 80)), "80/tcp -> 0.0.0.0:8080");
  EXPECT_EQ(PortLine(P("::1", 53, 53, "udp")), "53/udp -> [::1]:53");
  auto ports = std::vector<PortPublish>{P("127.0.0.1", 1, 2, "udp"), P("", 3, 4)};
  EXPECT_EQ(PortsFromJson(PortsToJson(ports).dump()), ports);
  EXPECT_TRUE(PortsFromJson("garbage").empty());
}

TEST(AssignHostPorts, FillsOnlyZeroes) {
  auto ports = std::vector<PortPublish>{P("", 0, 80), P("", 8080, 81), P("", 0, 53, "udp")};
  ASSERT_TRUE(AssignHostPorts(ports).ok());
  EXPECT_NE(ports[0].host_port, 0);
  EXPECT_EQ(ports[1].host_port, 8080);
  EXPECT_NE(ports[2].host_port, 0);
}

TEST(RenderHosts, SelfThenPeersSortedWithExtras) {
  std::string h = RenderHosts({"1.2.3.4\textra"}, {{"10.0.0.3", {"web", "web", "w"}}},
                              {{"10.0.0.9", {"db"}}, {"10.0.0.2", {"cache", "c"}}, {"", {"down"}}});
  EXPECT_EQ(h.rfind("127.0.0.1\tlocalhost\n", 0), 0u);
  auto at = [&](const std::string& s) { return h.find(s); };
  ASSERT_NE(at("1.2.3.4\textra\n"), std::string::npos);
  ASSERT_NE(at("10.0.0.3\tweb w\n"), std::string::npos);
  ASSERT_NE(at("10.0.0.2\tcache c\n"), std::string::npos);
  ASSERT_NE(at("10.0.0.9\tdb\n"), std::string::npos);
  EXPECT_LT(at("1.2.3.4"), at("10.0.0.3\t"));
  EXPECT_LT(at("10.0.0.3\t"), at("10.0.0.2\t"));
  EXPECT_LT(at("10.0.0.2\t"), at("10.0.0.9\t"));
  EXPECT_EQ(at("down"), std::string::npos);
}

TEST(AddHostLines, HostColonIp) {
  ContainerFlags f;
  f.add_hosts = {"db:10.1.1.1", "v6=[::1]"};
  EXPECT_EQ(*AddHostLines(f), (std::vector<std::string>{"10.1.1.1\tdb", "::1\tv6"}));
  f.add_hosts = {"nocolon"};
  EXPECT_TRUE(absl::IsInvalidArgument(AddHostLines(f).status()));
}

TEST(ResolveAttachments, ModesAndAliases) {
  ContainerFlags f;
  EXPECT_EQ(*ResolveAttachments(f), (std::vector<NetworkAttachment>{{"bridge", {}}}));
  f.networks = {"front", "back", "front"};
  f.network_aliases = {"api"};
  EXPECT_EQ(*ResolveAttachments(f), (std::vector<NetworkAttachment>{{"front", {"api"}}, {"back", {"api"}}}));
  f.networks = {"bridge"};
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveAttachments(f).status()));  // aliases on bridge
  f.network_aliases.clear();
  f.networks = {"host", "front"};
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveAttachments(f).status()));
  f.networks = {};
  f.network_attachments = {{"mine", {"a", "b"}}};
  EXPECT_EQ(*ResolveAttachments(f), f.network_attachments);
}

TEST(ResolvePorts, FlagsCodeAndExpose) {
  ContainerFlags f;
  f.publish = {"8080:80"};
  f.ports = {P("", 9090, 90)};
  f.publish_all = true;
  auto ports = ResolvePorts(f, {{"bridge", {}}}, R"({"config":{"ExposedPorts":{"80/tcp":{},"443/tcp":{}}}})");
  ASSERT_TRUE(ports.ok()) << ports.status();
  ASSERT_EQ(ports->size(), 3u);
  EXPECT_EQ((*ports)[0], P("", 8080, 80));
  EXPECT_EQ((*ports)[1], P("", 9090, 90));
  EXPECT_EQ((*ports)[2].container_port, 443);
  EXPECT_NE((*ports)[2].host_port, 0);
  EXPECT_TRUE(ResolvePorts(f, {{"host", {}}}, "{}")->empty());
  EXPECT_TRUE(absl::IsInvalidArgument(ResolvePorts(f, {{"none", {}}}, "{}").status()));
}

class NetworkDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-net-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    g_.root = (dir_ / "root").string();
    g_.cni_conf_dir = (dir_ / "net.d").string();
    g_.cni_cache_dir = (dir_ / "cache").string();
    g_.cni_ipam_dir = (dir_ / "ipam").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  Globals g_;
};

TEST_F(NetworkDirTest, DefaultBridgeOnFirstUse) {
  auto nets = ListNetworks(g_);
  ASSERT_TRUE(nets.ok()) << nets.status();
  ASSERT_EQ(nets->size(), 1u);
  const auto& b = (*nets)[0];
  EXPECT_EQ(b.name, "bridge");
  EXPECT_EQ(b.bridge, "berth0");
  EXPECT_EQ(b.subnet, kDefaultSubnet);
  EXPECT_EQ(b.gateway, "10.213.0.1");
  EXPECT_EQ(b.id.size(), 64u);
  // A valid CNI list: bridge with host-local in our ipam dir, portmap, firewall.
  auto list = network::LoadConfigDir(g_.cni_conf_dir);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_EQ((*list)[0].plugins.size(), 3u);
  EXPECT_FALSE((*list)[0].plugins[0]["ipam"].contains("dataDir"));  // set when used
  auto used = ConfigOf(g_, b);
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_EQ(used->plugins[0]["ipam"]["dataDir"], g_.cni_ipam_dir);
  EXPECT_EQ((*list)[0].plugins[1]["type"], "portmap");
  EXPECT_EQ((*list)[0].plugins[2]["type"], "firewall");
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNetwork(g_, "bridge", {}).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(RemoveNetwork(g_, "bridge")));
}

TEST_F(NetworkDirTest, CreateWithLabelsSubnetsAndLookups) {
  auto a = CreateNetwork(g_, "front", {{"com.example", "x"}});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->labels.at("com.example"), "x");
  EXPECT_EQ(a->bridge, "br-" + a->id.substr(0, 12));
  EXPECT_NE(a->subnet, kDefaultSubnet);
  EXPECT_EQ(a->subnet.rfind("10.213.", 0), 0u);
  NetworkOptions o;
  o.subnet = "10.99.5.0/24";
  o.gateway = "10.99.5.254";
  o.ip_range = "10.99.5.128/25";
  auto b = CreateNetwork(g_, "back", {}, o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->subnet, "10.99.5.0/24");
  EXPECT_EQ(b->gateway, "10.99.5.254");
  EXPECT_EQ(b->ip_range, "10.99.5.128-10.99.5.254");
  EXPECT_NE(a->subnet, b->subnet);
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNetwork(g_, "front", {}).status()));
  o.ip_range.clear();
  o.gateway.clear();
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNetwork(g_, "other", {}, o).status()));  // overlapping subnet
  o.subnet = "10.1.0.0/24";
  o.gateway = "10.2.0.1";
  EXPECT_TRUE(absl::IsInvalidArgument(CreateNetwork(g_, "other", {}, o).status()));
  o.gateway.clear();
  o.driver = "macvlan";
  EXPECT_TRUE(absl::IsInvalidArgument(CreateNetwork(g_, "other", {}, o).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CreateNetwork(g_, "bad name", {}).status()));
  auto byid = GetNetwork(g_, a->id.substr(0, 12));
  ASSERT_TRUE(byid.ok());
  EXPECT_EQ(byid->name, "front");
  EXPECT_TRUE(absl::IsNotFound(GetNetwork(g_, "nope").status()));
  auto again = EnsureNetwork(g_, "front", {{"ignored", "y"}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, a->id);
  auto made = EnsureNetwork(g_, "third", {{"com.docker.compose.project", "p"}});
  ASSERT_TRUE(made.ok()) << made.status();
  auto all = ListNetworks(g_);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> names;
  for (const auto& n : *all) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bridge", "back", "front", "third"}));
}

TEST_F(NetworkDirTest, SpecHooksAndHostMode) {
  ASSERT_TRUE(CreateNetwork(g_, "front", {}).ok());
  nlohmann::json spec = {{"linux", {{"namespaces", {{{"type", "pid"}}, {{"type", "network"}}}}}}};
  ASSERT_TRUE(ApplyNetworkSpec(g_, "/usr/bin/berth", {{"front", {"api"}}}, {P("", 8080, 80)}, spec).ok());
  ASSERT_EQ(spec["hooks"]["createRuntime"].size(), 1u);
  ASSERT_EQ(spec["hooks"]["poststop"].size(), 1u);
  auto args = spec["hooks"]["createRuntime"][0]["args"].get<std::vector<std::string>>();
  EXPECT_EQ(args.back(), "createRuntime");
  EXPECT_NE(std::find(args.begin(), args.end(), g_.cni_cache_dir), args.end());
  EXPECT_EQ(spec["annotations"][kLabelNetworks], R"([{"aliases":["api"],"name":"front"}])");
  EXPECT_EQ(PortsFromJson(spec["annotations"][kLabelPorts]), std::vector<PortPublish>{P("", 8080, 80)});
  EXPECT_EQ(spec["linux"]["namespaces"].size(), 2u);

  nlohmann::json host = {{"linux", {{"namespaces", {{{"type", "pid"}}, {{"type", "network"}}}}}}};
  ASSERT_TRUE(ApplyNetworkSpec(g_, "/usr/bin/berth", {{"host", {}}}, {}, host).ok());
  EXPECT_EQ(host["linux"]["namespaces"].size(), 1u);
  EXPECT_FALSE(host.contains("hooks"));
  nlohmann::json unknown = {{"linux", {{"namespaces", nlohmann::json::array()}}}};
  EXPECT_TRUE(absl::IsNotFound(ApplyNetworkSpec(g_, "/usr/bin/berth", {{"nope", {}}}, {}, unknown)));
}

}  // namespace
}  // namespace berth::cli
