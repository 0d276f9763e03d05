#include "runtime/spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace berth::runtime {
namespace {

using nlohmann::json;

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(Spec, ProcessFromImageConfig) {
  SpecOptions o;
  o.ns = "default";
  o.id = "c1";
  o.image.env = {"PATH=/bin", "A=1"};
  o.image.entrypoint = {"/bin/sh", "-c"};
  o.image.cmd = {"echo hi"};
  o.image.working_dir = "/work";
  o.image.user = "1000:100";
  o.extra_env = {"A=2", "B=3"};
  auto s = GenerateSpec(o);
  ASSERT_TRUE(s.ok()) << s.status();
  json j = json::parse(*s);
  EXPECT_EQ(j["process"]["args"], json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(j["process"]["env"], json({"PATH=/bin", "A=2", "B=3"}));
  EXPECT_EQ(j["process"]["cwd"], "/work");
  EXPECT_EQ(j["process"]["user"]["uid"], 1000);
  EXPECT_EQ(j["process"]["user"]["gid"], 100);
  EXPECT_EQ(j["root"]["path"], "rootfs");
  EXPECT_EQ(j["linux"]["cgroupsPath"], "/default/c1");
  EXPECT_EQ(j["linux"]["namespaces"].size(), 5u);
}

TEST(Spec, ArgsReplaceEntrypointAndCmd) {
  SpecOptions o;
  o.ns = "n";
  o.id = "c";
  o.image.entrypoint = {"/entry"};
  o.image.cmd = {"x"};
  o.args = {"echo", "hi"};
  json j = json::parse(*GenerateSpec(o));
  EXPECT_EQ(j["process"]["args"], json({"echo", "hi"}));
  EXPECT_EQ(j["process"]["env"][0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST(Spec, NoCommandIsInvalid) {
  SpecOptions o;
  o.ns = "n";
  o.id = "c";
  EXPECT_TRUE(absl::IsInvalidArgument(GenerateSpec(o).status()));
  o.args = {"x"};
  o.image.user = "nobody";
  EXPECT_TRUE(absl::IsInvalidArgument(GenerateSpec(o).status()));
}

TEST(Spec, DefaultCapabilitiesAreNamed) {
  auto caps = DefaultCapabilities();
  EXPECT_EQ(caps.size(), 14u);
  EXPECT_TRUE(Has(caps, "CAP_CHOWN"));
  EXPECT_TRUE(Has(caps, "CAP_NET_BIND_SERVICE"));
  EXPECT_TRUE(Has(caps, "CAP_AUDIT_WRITE"));
  EXPECT_FALSE(Has(caps, "CAP_SYS_ADMIN"));
}

TEST(Spec, SeccompAllowListIsResolvable) {
  auto names = DefaultSeccompSyscalls();
  EXPECT_GT(names.size(), 250u);
  EXPECT_TRUE(Has(names, "read"));
  EXPECT_TRUE(Has(names, "execve"));
  EXPECT_FALSE(Has(names, "mount"));
  EXPECT_FALSE(Has(names, "kexec_load"));
  json j = json::parse(*GenerateSpec(SpecOptions{"n", "c", {}, {"sh"}, {}, false, ""}));
  EXPECT_EQ(j["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(j["linux"]["seccomp"]["syscalls"][0]["names"].size(), names.size());
}

}  // namespace
}  // namespace berth::runtime
