#include <gtest/gtest.h>

#include "network/cni.h"
#include "network/internal.h"

namespace berth::network {
namespace {

using nlohmann::json;

constexpr char k100[] = R"({
  "cniVersion": "1.0.0",
  "interfaces": [
    {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
    {"name": "veth1", "mac": "aa:bb:cc:dd:ee:02"},
    {"name": "eth0", "mac": "aa:bb:cc:dd:ee:03", "sandbox": "/run/netns/p1"}
  ],
  "ips": [
    {"address": "fd00::5/64", "gateway": "fd00::1", "interface": 2},
    {"address": "10.88.0.5/16", "gateway": "10.88.0.1", "interface": 2}
  ],
  "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.88.0.254"}],
  "dns": {"nameservers": ["10.88.0.1"], "domain": "example", "search": ["a", "b"],
          "options": ["ndots:2"]}
})";

TEST(ResultTest, Parses100) {
  auto r = ParseResult(k100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cni_version, "1.0.0");
  ASSERT_EQ(r->interfaces.size(), 3u);
  EXPECT_EQ(r->interfaces[2].name, "eth0");
  EXPECT_EQ(r->interfaces[2].mac, "aa:bb:cc:dd:ee:03");
  EXPECT_EQ(r->interfaces[2].sandbox, "/run/netns/p1");
  EXPECT_EQ(r->interfaces[0].sandbox, "");
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[1].address, "10.88.0.5/16");
  EXPECT_EQ(r->ips[1].gateway, "10.88.0.1");
  EXPECT_EQ(r->ips[1].interface, 2);
  ASSERT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->routes[0].dst, "0.0.0.0/0");
  EXPECT_EQ(r->routes[0].gw, "");
  EXPECT_EQ(r->routes[1].gw, "10.88.0.254");
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.88.0.1"});
  EXPECT_EQ(r->dns.domain, "example");
  EXPECT_EQ(r->dns.search, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->dns.options, std::vector<std::string>{"ndots:2"});
  EXPECT_EQ(r->raw, json::parse(k100));
  EXPECT_EQ(r->FirstAddress("eth0"), "10.88.0.5");
  EXPECT_EQ(r->FirstAddress("eth0", 6), "fd00::5");
  // No sandbox interface by that name: any address of the family.
  EXPECT_EQ(r->FirstAddress("eth1"), "10.88.0.5");
}

TEST(ResultTest, Parses040And031WithIpVersions) {
  for (const char* v : {"0.4.0", "0.3.1", "0.3.0"}) {
    std::string doc = StrCat(R"({"cniVersion":")", v, R"(",
      "interfaces":[{"name":"eth0","sandbox":"/proc/1/ns/net"}],
      "ips":[{"version":"4","address":"10.1.2.3/24","gateway":"10.1.2.1","interface":0}],
      "dns":{}})");
    auto r = ParseResult(doc);
    ASSERT_TRUE(r.ok()) << v << ": " << r.status();
    EXPECT_EQ(r->cni_version, v);
    ASSERT_EQ(r->ips.size(), 1u);
    EXPECT_EQ(r->ips[0].address, "10.1.2.3/24");
    EXPECT_EQ(r->ips[0].interface, 0);
    EXPECT_EQ(r->FirstAddress("eth0"), "10.1.2.3");
    EXPECT_EQ(r->FirstAddress("eth0", 6), "");
  }
}

TEST(ResultTest, Parses020Ip4Ip6) {
  auto r = ParseResult(R"({"cniVersion":"0.2.0",
      "ip4":{"ip":"10.3.0.9/16","gateway":"10.3.0.1","routes":[{"dst":"0.0.0.0/0"}]},
      "ip6":{"ip":"fd01::9/64"},"dns":{"nameservers":["8.8.8.8"]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].address, "10.3.0.9/16");
  EXPECT_FALSE(r->ips[0].interface.has_value());
  EXPECT_EQ(r->ips[1].address, "fd01::9/64");
  ASSERT_EQ(r->routes.size(), 1u);
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"8.8.8.8"});
  EXPECT_EQ(r->FirstAddress("eth0"), "10.3.0.9");
  // Converted for a prevResult: ips without interfaces, in the asked version.
  auto c = internal::ConvertResult(r->raw, "1.0.0");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)["cniVersion"], "1.0.0");
  EXPECT_EQ((*c)["ips"][0], json({{"address", "10.3.0.9/16"}, {"gateway", "10.3.0.1"}}));
  EXPECT_FALSE((*c).contains("ip4"));
}

TEST(ResultTest, MissingVersionTakesTheConfigs) {
  auto r = internal::ParseResult(R"({"ips":[{"version":"4","address":"10.0.0.2/8"}]})", "0.4.0");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cni_version, "0.4.0");
  EXPECT_EQ(r->raw["cniVersion"], "0.4.0");
  auto def = ParseResult(R"({"ip4":{"ip":"10.0.0.2/8"}})");
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->cni_version, "0.1.0");
}

TEST(ResultTest, ConvertsBetweenVersions) {
  auto down = internal::ConvertResult(json::parse(k100), "0.3.1");
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ((*down)["cniVersion"], "0.3.1");
  EXPECT_EQ((*down)["ips"][0]["version"], "6");
  EXPECT_EQ((*down)["ips"][1]["version"], "4");
  EXPECT_EQ((*down)["interfaces"], json::parse(k100)["interfaces"]);
  EXPECT_EQ((*down)["dns"], json::parse(k100)["dns"]);
  auto up = internal::ConvertResult(*down, "1.0.0");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(*up, json::parse(k100));
  auto legacy = internal::ConvertResult(json::parse(k100), "0.2.0");
  EXPECT_EQ(legacy.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResultTest, RejectsMalformedResults) {
  const char* bad[] = {
      "nope",
      "[]",
      R"({"cniVersion":"9.0.0"})",
      R"({"cniVersion":"0.5.0"})",
      R"({"cniVersion":"x.y"})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/33"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","gateway":"x"}]})",
      R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/24","interface":1}]})",
      R"({"cniVersion":"1.0.0","interfaces":{}})",
      R"({"cniVersion":"1.0.0","routes":[{"dst":"default"}]})",
      R"({"cniVersion":"1.0.0","dns":{"nameservers":"1.1.1.1"}})",
      R"({"cniVersion":1})",
  };
  for (const char* doc : bad) {
    auto r = ParseResult(doc);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << doc;
  }
}

TEST(ResultTest, ComparesVersions) {
  EXPECT_EQ(*internal::CompareVersions("0.4.0", "0.3.1"), 1);
  EXPECT_EQ(*internal::CompareVersions("0.3.1", "0.4.0"), -1);
  EXPECT_EQ(*internal::CompareVersions("1.0.0", "1.0"), 0);
  EXPECT_EQ(*internal::CompareVersions("0.10.0", "0.9.0"), 1);
  EXPECT_EQ(*internal::CompareVersions("", "0.1.0"), 0);
  EXPECT_FALSE(internal::CompareVersions("1.a", "1.0").ok());
}

}  // namespace
}  // namespace berth::network
