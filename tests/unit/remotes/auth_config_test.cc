#include "remotes/auth_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "remotes/registry.h"

namespace berth::remotes {
namespace {

TEST(AuthKey, DockerHubAndHosts) {
  EXPECT_EQ(AuthKeyFor(""), kDockerHubAuthKey);
  EXPECT_EQ(AuthKeyFor("docker.io"), kDockerHubAuthKey);
  EXPECT_EQ(AuthKeyFor("index.docker.io"), kDockerHubAuthKey);
  EXPECT_EQ(AuthKeyFor("https://index.docker.io/v1/"), kDockerHubAuthKey);
  EXPECT_EQ(AuthKeyFor("127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(AuthKeyFor("https://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  EXPECT_EQ(AuthKeyFor("registry.example.com"), "registry.example.com");
}

TEST(Base64, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 40; ++i) {
    auto dec = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(dec.ok()) << s;
    EXPECT_EQ(*dec, s);
    s += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64Encode("alice:s3cret"), "YWxpY2U6czNjcmV0");
  EXPECT_FALSE(Base64Decode("YW*j").ok());
  EXPECT_FALSE(Base64Decode("YQ=a").ok());
}

TEST(AuthConfig, ReadsDockersFile) {
  auto c = AuthConfig::Parse(R"({"auths":{
      "https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
      "https://10.0.0.1:5000":{"auth":"Ym9iOmh1bnRlcjI="},
      "plain.example":{"username":"u","password":"p"},
      "token.example":{"auth":"","identitytoken":"tok"}},
    "credsStore":"", "detachKeys":"ctrl-e,e"})");
  ASSERT_TRUE(c.ok()) << c.status();
  auto hub = c->Get("docker.io");
  ASSERT_TRUE(hub.ok() && hub->has_value());
  EXPECT_EQ((*hub)->username, "user");
  EXPECT_EQ((*hub)->password, "pa:ss");  // only the first ':' splits
  auto scheme = c->Get("10.0.0.1:5000");
  ASSERT_TRUE(scheme.ok() && scheme->has_value());
  EXPECT_EQ((*scheme)->username, "bob");
  auto plain = c->Get("plain.example");
  ASSERT_TRUE(plain.ok() && plain->has_value());
  EXPECT_EQ((*plain)->password, "p");
  auto tok = c->Get("token.example");
  ASSERT_TRUE(tok.ok() && tok->has_value());
  EXPECT_EQ((*tok)->identity_token, "tok");
  auto none = c->Get("other.example");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(AuthConfig, RejectsBadDocuments) {
  EXPECT_FALSE(AuthConfig::Parse("[1,2]").ok());
  EXPECT_FALSE(AuthConfig::Parse("{").ok());
  EXPECT_FALSE(AuthConfig::Parse(R"({"auths":[]})").ok());
  EXPECT_TRUE(AuthConfig::Parse("").ok());
  auto c = AuthConfig::Parse(R"({"auths":{"h":{"auth":"bm9jb2xvbg=="}}})");  // "nocolon"
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(c->Get("h").status()));
}

TEST(AuthConfig, SetEraseSaveKeepOtherKeys) {
  auto dir = std::filesystem::temp_directory_path() / ("auth_config_test." + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::string path = (dir / "config.json").string();
  auto c = AuthConfig::Load(path);  // absent: empty
  ASSERT_TRUE(c.ok());
  c = AuthConfig::Parse(R"({"auths":{"https://h:1/":{"auth":"eDp5"}},"proxies":{"default":{}}})");
  ASSERT_TRUE(c.ok());
  c->Set("h:1", {"alice", "pw", ""});  // updates the entry stored with a scheme
  c->Set("docker.io", {"hub", "x", ""});
  ASSERT_TRUE(c->Save(path).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = AuthConfig::Load(path);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->json().contains("proxies"));
  EXPECT_EQ(back->json()["auths"]["https://h:1/"]["auth"], Base64Encode("alice:pw"));
  EXPECT_EQ(back->json()["auths"][kDockerHubAuthKey]["auth"], Base64Encode("hub:x"));
  EXPECT_TRUE(back->Erase("h:1"));
  EXPECT_FALSE(back->Erase("h:1"));
  EXPECT_FALSE((*back->Get("h:1")).has_value());
  std::filesystem::remove_all(dir);
}

TEST(AuthConfig, PathHonoursDockerConfig) {
  setenv("DOCKER_CONFIG", "/x/y", 1);
  EXPECT_EQ(DockerConfigPath(), "/x/y/config.json");
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", "/home/z", 1);
  EXPECT_EQ(DockerConfigPath(), "/home/z/.docker/config.json");
}

TEST(WwwAuthenticate, BearerWithQuotedParams) {
  auto cs = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].params["service"], "registry.docker.io");
  EXPECT_EQ(cs[0].params["scope"], "repository:library/busybox:pull,push");
}

TEST(WwwAuthenticate, BasicAndSeveralChallenges) {
  auto cs = ParseWwwAuthenticate(R"(Basic realm="berth-test", Bearer realm=https://t/x,Service=reg)");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params["realm"], "berth-test");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].params["realm"], "https://t/x");
  EXPECT_EQ(cs[1].params["service"], "reg");  // parameter names lower-cased
}

TEST(WwwAuthenticate, EscapesAndOddInput) {
  auto cs = ParseWwwAuthenticate(R"(Bearer realm="a\"b")");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].params["realm"], "a\"b");
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
  auto bare = ParseWwwAuthenticate("Negotiate");
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].scheme, "negotiate");
  EXPECT_TRUE(bare[0].params.empty());
  auto unterminated = ParseWwwAuthenticate(R"(Bearer realm="open)");
  ASSERT_EQ(unterminated.size(), 1u);
  EXPECT_EQ(unterminated[0].params["realm"], "open");
}

}  // namespace
}  // namespace berth::remotes
