#include "images/manifest.h"

#include <gtest/gtest.h>

#include "common/digest.h"
#include "images/chain_id.h"
#include "images/platform.h"

namespace berth::images {
namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

TEST(Manifest, ParsesOci) {
  std::string j = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + D('c') + R"(","size":100},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + D('1') + R"(","size":10,
               "annotations":{"a":"b"}},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" + D('2') + R"(","size":20}],
    "annotations":{"org.opencontainers.image.ref.name":"latest"}, "unknown": [1,2]})";
  auto m = ParseManifest(j);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.digest, D('c'));
  EXPECT_EQ(m->config.size, 100);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].annotations.at("a"), "b");
  EXPECT_EQ(m->layers[1].media_type, kOciLayerZstd);
  EXPECT_TRUE(IsLayerType(m->layers[1].media_type));
  auto kids = Children(kOciManifest, j);
  ASSERT_TRUE(kids.ok());
  ASSERT_EQ(kids->size(), 3u);
  EXPECT_EQ((*kids)[0].digest, D('c'));
  auto mt = DetectMediaType(j);
  ASSERT_TRUE(mt.ok());
  EXPECT_EQ(*mt, kOciManifest);
}

TEST(Manifest, ParsesDockerAndDetectsWithoutMediaType) {
  std::string j = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" + D('c') + R"(","size":1},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" + D('1') + R"(","size":1}]})";
  auto m = ParseManifest(j);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(IsManifestType(m->media_type));
  EXPECT_TRUE(IsConfigType(m->config.media_type));
  EXPECT_TRUE(IsLayerType(m->layers[0].media_type));
  auto mt = DetectMediaType(R"({"schemaVersion":2,"config":{},"layers":[]})");
  ASSERT_TRUE(mt.ok());
  EXPECT_EQ(*mt, kOciManifest);
  mt = DetectMediaType(R"({"schemaVersion":2,"manifests":[]})");
  ASSERT_TRUE(mt.ok());
  EXPECT_EQ(*mt, kOciIndex);
  EXPECT_TRUE(absl::IsUnimplemented(DetectMediaType(R"({"schemaVersion":1,"fsLayers":[]})").status()));
}

TEST(Manifest, RejectsGarbage) {
  EXPECT_TRUE(absl::IsInvalidArgument(ParseManifest("{").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseManifest("[]").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseManifest(R"({"layers":[]})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseManifest(R"({"config":{"digest":"sha256:zz","size":1},"layers":[]})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseManifest(R"({"config":{"digest":")" + D('a') + R"(","size":-1},"layers":[]})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseManifest(R"({"config":{"digest":")" + D('a') + R"(","size":"1"},"layers":[]})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseManifest(R"({"mediaType":"text/plain","config":{"digest":")" + D('a') + R"(","size":1}})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseIndex(R"({"manifests":{}})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"os":"linux"})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"rootfs":{"diff_ids":["x"]}})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"os":5,"rootfs":{}})").status()));
}

TEST(Index, ParsesPlatforms) {
  std::string j = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D('1') + R"(","size":1,
     "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + D('2') + R"(","size":2,
     "platform":{"architecture":"amd64","os":"linux","os.features":["x"]}}]})";
  auto ix = ParseIndex(j);
  ASSERT_TRUE(ix.ok()) << ix.status();
  ASSERT_EQ(ix->manifests.size(), 2u);
  ASSERT_TRUE(ix->manifests[0].platform.has_value());
  EXPECT_EQ(ix->manifests[0].platform->variant, "v8");
  EXPECT_EQ(ix->manifests[1].platform->os_features, std::vector<std::string>{"x"});
}

TEST(Config, ParsesDiffIds) {
  auto c = ParseConfig(R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
      "config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[")" + D('1') + R"(",")" + D('2') + R"("]}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->diff_ids, (std::vector<std::string>{D('1'), D('2')}));
}

TEST(ChainId, FollowsTheSpec) {
  // Values checked with: printf 'sha256:<a..> sha256:<b..>' | sha256sum
  auto ids = ChainIds({D('a'), D('b'), D('c')});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_EQ((*ids)[0], D('a'));
  EXPECT_EQ((*ids)[1], Sha256::Of(D('a') + " " + D('b')).str());
  EXPECT_EQ((*ids)[2], Sha256::Of((*ids)[1] + " " + D('c')).str());
  EXPECT_TRUE(ChainIds({})->empty());
  EXPECT_FALSE(ChainIds({"nope"}).ok());
}

TEST(Platform, ParseAndNormalize) {
  auto p = ParsePlatform("linux/amd64");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(FormatPlatform(*p), "linux/amd64");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux/x86_64")), "linux/amd64");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux/aarch64")), "linux/arm64");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux/arm64/v8")), "linux/arm64");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux/arm")), "linux/arm/v7");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux/armhf")), "linux/arm/v7");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("arm64")), "linux/arm64");
  EXPECT_EQ(FormatPlatform(*ParsePlatform("linux")), FormatPlatform(DefaultPlatform()));
  EXPECT_FALSE(ParsePlatform("").ok());
  EXPECT_FALSE(ParsePlatform("linux//amd64").ok());
  EXPECT_FALSE(ParsePlatform("a/b/c/d").ok());
  EXPECT_FALSE(ParsePlatform("linux/am d64").ok());
}

TEST(Platform, Matching) {
  PlatformMatcher amd64(Platform{"linux", "amd64", "", "", {}});
  EXPECT_TRUE(amd64.Match({"linux", "amd64", "", "", {}}));
  EXPECT_TRUE(amd64.Match({"linux", "x86_64", "", "", {}}));
  EXPECT_TRUE(amd64.Match({"Linux", "amd64", "v1", "", {}}));
  EXPECT_FALSE(amd64.Match({"linux", "arm64", "", "", {}}));
  EXPECT_FALSE(amd64.Match({"windows", "amd64", "", "", {}}));
  EXPECT_FALSE(amd64.Match({"linux", "386", "", "", {}}));

  PlatformMatcher arm64(Platform{"linux", "arm64", "v8", "", {}});
  EXPECT_TRUE(arm64.Match({"linux", "arm64", "", "", {}}));
  EXPECT_TRUE(arm64.Match({"linux", "aarch64", "v8", "", {}}));

  PlatformMatcher armv7(Platform{"linux", "arm", "v7", "", {}});
  EXPECT_TRUE(armv7.Match({"linux", "arm", "", "", {}}));  // normalised to v7
  EXPECT_TRUE(armv7.Match({"linux", "arm", "v6", "", {}}));
  EXPECT_FALSE(armv7.Match({"linux", "arm", "v8", "", {}}));
  EXPECT_LT(armv7.Rank({"linux", "arm", "v7", "", {}}), armv7.Rank({"linux", "arm", "v6", "", {}}));
}

TEST(Config, ProcessFields) {
  auto c = ParseConfig(R"({"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]},
    "config":{"Env":["PATH=/bin","A=b"],"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],
              "WorkingDir":"/tmp","User":"1000:1000"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/bin", "A=b"}));
  EXPECT_EQ(c->entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"echo hi"}));
  EXPECT_EQ(c->working_dir, "/tmp");
  EXPECT_EQ(c->user, "1000:1000");
  auto empty = ParseConfig(R"({"os":"linux","rootfs":{},"config":{"Cmd":null}})");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->cmd.empty());
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"rootfs":{},"config":{"Cmd":"sh"}})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"rootfs":{},"config":{"Env":[1]}})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig(R"({"rootfs":{},"config":[]})").status()));
}

}  // namespace
}  // namespace berth::images
