#include "cri/sandbox.h"

#include <gtest/gtest.h>

#include "common/digest.h"
#include "cri/pause_image.h"

namespace berth::cri {
namespace {

TEST(MatchLabels, EverySelectorLabelMustBeEqual) {
  std::map<std::string, std::string> l = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(MatchLabels(l, {}));
  EXPECT_TRUE(MatchLabels(l, {{"app", "web"}}));
  EXPECT_TRUE(MatchLabels(l, {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(MatchLabels(l, {{"app", "db"}}));
  EXPECT_FALSE(MatchLabels(l, {{"zone", ""}}));
}

TEST(MatchSandbox, IdPrefixStateAndLabels) {
  Sandbox s;
  s.id = "abcdef";
  s.state = SandboxState::kReady;
  s.config.labels = {{"app", "web"}};
  EXPECT_TRUE(MatchSandbox(s, {}));
  EXPECT_TRUE(MatchSandbox(s, {.id = "abc"}));
  EXPECT_FALSE(MatchSandbox(s, {.id = "abd"}));
  EXPECT_TRUE(MatchSandbox(s, {.state = SandboxState::kReady}));
  EXPECT_FALSE(MatchSandbox(s, {.state = SandboxState::kNotReady}));
  EXPECT_FALSE(MatchSandbox(s, {.label_selector = {{"app", "db"}}}));
}

TEST(ResolvConf, AsContainerdWritesIt) {
  SandboxConfig c;
  c.dns_servers = {"10.0.0.10", "8.8.8.8"};
  c.dns_searches = {"ns.svc.cluster.local", "svc.cluster.local"};
  c.dns_options = {"ndots:5", "edns0"};
  EXPECT_EQ(ResolvConf(c),
            "search ns.svc.cluster.local svc.cluster.local\nnameserver 10.0.0.10\nnameserver 8.8.8.8\n"
            "options ndots:5 edns0\n");
  EXPECT_EQ(ResolvConf(SandboxConfig{}), "");
}

TEST(SandboxMetadata, RoundTrips) {
  Sandbox s;
  s.id = "id1";
  s.created_at = 123;
  s.ip = "10.88.0.2";
  s.netns = "/run/netns/cni-x";
  s.config.name = "p";
  s.config.uid = "u";
  s.config.pod_namespace = "default";
  s.config.attempt = 2;
  s.config.labels = {{"a", "b"}};
  s.config.network = NamespaceMode::kNode;
  s.config.port_mappings = {{1, 80, 8080, "127.0.0.1"}};
  s.config.sysctls = {{"net.ipv4.ip_forward", "1"}};
  auto back = DecodeSandbox(EncodeSandbox(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, "id1");
  EXPECT_EQ(back->created_at, 123);
  EXPECT_EQ(back->ip, "10.88.0.2");
  EXPECT_EQ(back->netns, "/run/netns/cni-x");
  EXPECT_EQ(back->config.attempt, 2u);
  EXPECT_EQ(back->config.labels, s.config.labels);
  EXPECT_EQ(back->config.network, NamespaceMode::kNode);
  ASSERT_EQ(back->config.port_mappings.size(), 1u);
  EXPECT_EQ(back->config.port_mappings[0].host_port, 8080);
  EXPECT_EQ(back->config.sysctls, s.config.sysctls);
  EXPECT_FALSE(DecodeSandbox("nope").ok());
}

TEST(PauseImage, TarHeaderAndDigests) {
  std::string tar = TarOneFile("pause", "abc", 0755);
  ASSERT_EQ(tar.size(), 512u + 512u + 1024u);
  EXPECT_EQ(tar.substr(0, 5), "pause");
  EXPECT_EQ(tar.substr(257, 5), "ustar");
  EXPECT_EQ(tar.substr(512, 3), "abc");
  auto b = BuildPauseImage("program");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->layer_digest, Sha256::Of(b->layer).str());
  EXPECT_EQ(b->manifest_digest, Sha256::Of(b->manifest).str());
  EXPECT_NE(b->manifest.find(b->config_digest), std::string::npos);
  EXPECT_NE(b->config.find(b->diff_id), std::string::npos);
  EXPECT_NE(b->config.find("/pause"), std::string::npos);
  // Same program, same image.
  EXPECT_EQ(BuildPauseImage("program")->manifest_digest, b->manifest_digest);
  EXPECT_FALSE(BuildPauseImage("").ok());
}

}  // namespace
}  // namespace berth::cri
