#include "remotes/reference.h"

#include <gtest/gtest.h>

#include "remotes/registry.h"

namespace berth::remotes {
namespace {

std::string Norm(const std::string& s) {
  auto r = ParseReference(s);
  return r.ok() ? r->String() : "ERROR: " + std::string(r.status().message());
}

TEST(Reference, NormalisesLikeCtr) {
  EXPECT_EQ(Norm("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Norm("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(Norm("user/app"), "docker.io/user/app:latest");
  EXPECT_EQ(Norm("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Norm("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(Norm("127.0.0.1:5000/bench/busybox"), "127.0.0.1:5000/bench/busybox:latest");
  EXPECT_EQ(Norm("localhost/x:y"), "localhost/x:y");
  EXPECT_EQ(Norm("ghcr.io/a/b/c:v1.2_3-x"), "ghcr.io/a/b/c:v1.2_3-x");
  std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(Norm("busybox@" + d), "docker.io/library/busybox@" + d);
  EXPECT_EQ(Norm("reg:5000/x:t@" + d), "reg:5000/x:t@" + d);
}

TEST(Reference, Parts) {
  auto r = ParseReference("127.0.0.1:5000/bench/big:v2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "bench/big");
  EXPECT_EQ(r->tag, "v2");
  EXPECT_EQ(r->Object(), "v2");
  EXPECT_EQ(r->RegistryHost(), "127.0.0.1:5000");
  r = ParseReference("alpine");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->RegistryHost(), "registry-1.docker.io");
  EXPECT_EQ(r->repository, "library/alpine");
}

TEST(Reference, RejectsMalformed) {
  for (const char* bad : {"", "Busybox", "docker.io/Library/x", "x:", "x:-tag", "x@sha256:zz", "a//b", "x/",
                          "-x", "x..y", "reg:5000/"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseReference(bad).status())) << bad;
  }
}

TEST(WwwAuthenticate, ParsesBearerAndBasic) {
  auto cs = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].params["service"], "registry.docker.io");
  EXPECT_EQ(cs[0].params["scope"], "repository:library/busybox:pull");
  cs = ParseWwwAuthenticate(R"(Basic realm="Registry Realm", Bearer realm=http://x/t,service=s)");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params["realm"], "Registry Realm");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].params["realm"], "http://x/t");
  EXPECT_EQ(cs[1].params["service"], "s");
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
}

TEST(Registry, SchemeForHosts) {
  RegistryOptions o;
  o.insecure_hosts = {"myreg", "127.0.0.1:5000"};
  Registry r(o);
  EXPECT_EQ(r.SchemeFor("registry-1.docker.io"), "https");
  EXPECT_EQ(r.SchemeFor("myreg:443"), "http");
  EXPECT_EQ(r.SchemeFor("127.0.0.1:5000"), "http");
  EXPECT_EQ(r.SchemeFor("127.0.0.1:5001"), "https");
  o.plain_http = true;
  EXPECT_EQ(Registry(o).SchemeFor("anything"), "http");
}

}  // namespace
}  // namespace berth::remotes
