#include "images/unpack.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/digest.h"
#include "images/chain_id.h"

namespace berth::images {
namespace {

// An in-memory content store and snapshotter; a "layer" blob's bytes are its diffID text.
class FakeBackend : public UnpackBackend {
 public:
  std::string Add(const std::string& body) {
    std::string d = Sha256::Of(body).str();
    blobs[d] = body;
    return d;
  }
  StatusOr<std::string> ReadBlob(const std::string& digest) override {
    auto it = blobs.find(digest);
    if (it == blobs.end()) return absl::NotFoundError("blob " + digest);
    return it->second;
  }
  Status SetBlobLabel(const std::string& digest, const std::string& key, const std::string& value) override {
    labels[digest][key] = value;
    return Status();
  }
  Status StatSnapshot(const std::string& key) override {
    return committed.count(key) || active.count(key) ? Status() : absl::NotFoundError(key);
  }
  Status PrepareSnapshot(const std::string& key, const std::string& parent) override {
    if (active.count(key) || committed.count(key)) return absl::AlreadyExistsError(key);
    if (!parent.empty() && !committed.count(parent)) return absl::NotFoundError(parent);
    active[key] = parent;
    log.push_back("prepare " + key.substr(0, 8) + " " + parent);
    return Status();
  }
  StatusOr<std::string> ApplyLayer(const std::string& key, const Descriptor& layer) override {
    if (fail_apply) return absl::DataLossError("truncated");
    log.push_back("apply " + layer.digest);
    return blobs.at(layer.digest);
  }
  Status CommitSnapshot(const std::string& name, const std::string& key) override {
    if (committed.count(name)) return absl::AlreadyExistsError(name);
    committed[name] = active.at(key);
    active.erase(key);
    log.push_back("commit " + name);
    return Status();
  }
  Status RemoveSnapshot(const std::string& key) override {
    active.erase(key);
    removed.push_back(key);
    return Status();
  }

  std::map<std::string, std::string> blobs;
  std::map<std::string, std::map<std::string, std::string>> labels;
  std::map<std::string, std::string> active, committed;  // key -> parent
  std::vector<std::string> log, removed;
  bool fail_apply = false;
};

struct TestImage {
  Descriptor target;
  std::string config;
  std::vector<std::string> layers, diff_ids;
};

TestImage Build(FakeBackend& b, int n, bool index = false, std::string diff_override = "") {
  TestImage t;
  std::string layers_json;
  for (int i = 0; i < n; ++i) {
    std::string diff = Sha256::Of("layer" + std::to_string(i)).str();
    std::string layer = b.Add(diff);
    t.layers.push_back(layer);
    t.diff_ids.push_back(diff);
    if (i) layers_json += ",";
    layers_json += R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer +
                   R"(","size":10})";
  }
  std::string ids;
  for (int i = 0; i < n; ++i) {
    ids += (i ? "," : "") + std::string("\"") + (diff_override.empty() || i != n - 1 ? t.diff_ids[i] : diff_override) + "\"";
  }
  t.config = b.Add(R"({"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[)" + ids + "]}}");
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{)"
                         R"("mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                         t.config + R"(","size":5},"layers":[)" + layers_json + "]}";
  std::string md = b.Add(manifest);
  t.target = {kOciManifest, md, static_cast<int64_t>(manifest.size()), {}, {}, {}};
  if (index) {
    std::string other = b.Add(R"({"schemaVersion":2,"config":{"digest":")" + t.config + R"(","size":1},"layers":[]})");
    std::string ix = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                     R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + other +
                     R"(","size":1,"platform":{"os":"linux","architecture":"arm64"}},)"
                     R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + md +
                     R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}}]})";
    std::string ixd = b.Add(ix);
    t.target = {kOciIndex, ixd, static_cast<int64_t>(ix.size()), {}, {}, {}};
  }
  return t;
}

UnpackOptions Amd64() {
  UnpackOptions o;
  o.platform = Platform{"linux", "amd64", "", "", {}};
  return o;
}

TEST(Unpack, CommitsChainIdsAndLabelsLikeCtr) {
  FakeBackend b;
  TestImage t = Build(b, 3);
  auto res = Unpack(b, t.target, Amd64());
  ASSERT_TRUE(res.ok()) << res.status();
  auto chain = *ChainIds(t.diff_ids);
  EXPECT_EQ(res->chain_ids, chain);
  EXPECT_EQ(b.committed.size(), 3u);
  EXPECT_EQ(b.committed[chain[0]], "");
  EXPECT_EQ(b.committed[chain[1]], chain[0]);
  EXPECT_EQ(b.committed[chain[2]], chain[1]);
  EXPECT_TRUE(b.active.empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.labels[t.layers[i]][kLabelUncompressed], t.diff_ids[i]);
  EXPECT_EQ(b.labels[t.config]["containerd.io/gc.ref.snapshot.overlayfs"], chain[2]);
  // Second unpack finds every snapshot and only re-labels the config.
  b.log.clear();
  b.labels.clear();
  ASSERT_TRUE(Unpack(b, t.target, Amd64()).ok());
  EXPECT_TRUE(b.log.empty());
  EXPECT_EQ(b.labels.size(), 1u);
  EXPECT_EQ(b.labels[t.config]["containerd.io/gc.ref.snapshot.overlayfs"], chain[2]);
}

TEST(Unpack, ExtractKeysLookLikeCtrs) {
  std::string k = ExtractKey("sha256:abc");
  EXPECT_EQ(k.rfind("extract-", 0), 0u);
  EXPECT_NE(k.find(" sha256:abc"), std::string::npos);
}

TEST(Unpack, SelectsPlatformFromIndex) {
  FakeBackend b;
  TestImage t = Build(b, 2, /*index=*/true);
  auto res = Unpack(b, t.target, Amd64());
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->config.digest, t.config);
  EXPECT_EQ(b.committed.size(), 2u);
  UnpackOptions s390 = Amd64();
  s390.platform.architecture = "s390x";
  EXPECT_TRUE(absl::IsNotFound(Unpack(b, t.target, s390).status()));
}

TEST(Unpack, WrongDiffIdRemovesTheExtractSnapshot) {
  FakeBackend b;
  TestImage t = Build(b, 2, false, Sha256::Of("lies").str());
  auto res = Unpack(b, t.target, Amd64());
  EXPECT_TRUE(absl::IsFailedPrecondition(res.status())) << res.status();
  EXPECT_EQ(b.committed.size(), 1u);
  EXPECT_TRUE(b.active.empty());
  EXPECT_EQ(b.removed.size(), 1u);
}

TEST(Unpack, ApplyFailureRemovesTheExtractSnapshot) {
  FakeBackend b;
  TestImage t = Build(b, 1);
  b.fail_apply = true;
  auto res = Unpack(b, t.target, Amd64());
  EXPECT_TRUE(absl::IsDataLoss(res.status()));
  EXPECT_TRUE(b.active.empty());
  EXPECT_TRUE(b.committed.empty());
}

TEST(Unpack, WaitsForEachLayerInOrder) {
  FakeBackend b;
  TestImage t = Build(b, 3);
  std::vector<std::string> events;
  UnpackOptions o = Amd64();
  o.wait_for_layer = [&](size_t i) {
    events.push_back("wait " + std::to_string(i));
    return Status();
  };
  o.progress = [&](size_t i, const std::string& s) { events.push_back(s + " " + std::to_string(i)); };
  ASSERT_TRUE(Unpack(b, t.target, o).ok());
  EXPECT_EQ(events, (std::vector<std::string>{"wait 0", "unpacking 0", "unpacked 0", "wait 1", "unpacking 1",
                                              "unpacked 1", "wait 2", "unpacking 2", "unpacked 2"}));
  o.wait_for_layer = [](size_t) { return absl::CancelledError("pull cancelled"); };
  FakeBackend b2;
  TestImage t2 = Build(b2, 1);
  EXPECT_TRUE(absl::IsCancelled(Unpack(b2, t2.target, o).status()));
}

TEST(Unpack, LayerCountMismatchIsInvalid) {
  FakeBackend b;
  std::string cfg = b.Add(R"({"rootfs":{"diff_ids":[]}})");
  std::string layer = b.Add("x");
  std::string m = R"({"config":{"digest":")" + cfg + R"(","size":1},"layers":[{"mediaType":")" +
                  std::string(kOciLayer) + R"(","digest":")" + layer + R"(","size":1}]})";
  Descriptor target{kOciManifest, b.Add(m), 1, {}, {}, {}};
  EXPECT_TRUE(absl::IsInvalidArgument(Unpack(b, target, Amd64()).status()));
}

}  // namespace
}  // namespace berth::images
