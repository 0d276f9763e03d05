#include "metadata/containers.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fs.h"

namespace berth::metadata {
namespace {

class ContainersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-ctr-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = Db::Open(dir_ + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<ContainerStore>(*db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }

  static Container Sample(const std::string& id) {
    Container c;
    c.id = id;
    c.labels = {{"a", "1"}, {"containerd.io/gc.ref.content.x", "sha256:00"}};
    c.image = "docker.io/library/busybox:latest";
    c.runtime_name = "io.containerd.runc.v2";
    c.runtime_options = AnyValue{"containerd.runc.v1.Options", ""};
    c.spec = AnyValue{"types.containerd.io/opencontainers/runtime-spec/1/Spec", "{\"ociVersion\":\"1.0.2\"}"};
    c.snapshotter = "overlayfs";
    c.snapshot_key = id;
    c.extensions["ext"] = AnyValue{"x.y.Z", std::string("\0\1\2", 3)};
    return c;
  }

  std::string dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<ContainerStore> store_;
};

TEST_F(ContainersTest, CreateGetRoundTrip) {
  auto created = store_->Create("default", Sample("c1"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_at, 0);
  auto got = store_->Get("default", "c1");
  ASSERT_TRUE(got.ok()) << got.status();
  Container want = Sample("c1");
  EXPECT_EQ(got->labels, want.labels);
  EXPECT_EQ(got->image, want.image);
  EXPECT_EQ(got->runtime_name, want.runtime_name);
  ASSERT_TRUE(got->runtime_options.has_value());
  EXPECT_EQ(*got->runtime_options, *want.runtime_options);
  EXPECT_EQ(*got->spec, *want.spec);
  EXPECT_EQ(got->snapshotter, "overlayfs");
  EXPECT_EQ(got->snapshot_key, "c1");
  EXPECT_EQ(got->extensions, want.extensions);
  EXPECT_EQ(got->created_at, created->created_at);
}

TEST_F(ContainersTest, NamespacesAreSeparate) {
  ASSERT_TRUE(store_->Create("a", Sample("c1")).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("b", "c1").status()));
  ASSERT_TRUE(store_->Create("b", Sample("c1")).ok());
}

TEST_F(ContainersTest, CreateValidates) {
  ASSERT_TRUE(store_->Create("default", Sample("c1")).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->Create("default", Sample("c1")).status()));
  Container bad = Sample("bad id");
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", bad).status()));
  Container no_runtime = Sample("c2");
  no_runtime.runtime_name = "";
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", no_runtime).status()));
  Container no_spec = Sample("c3");
  no_spec.spec.reset();
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", no_spec).status()));
  Container key_only = Sample("c4");
  key_only.snapshotter = "";
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", key_only).status()));
}

TEST_F(ContainersTest, UpdateWithMasks) {
  ASSERT_TRUE(store_->Create("default", Sample("c1")).ok());
  Container u;
  u.id = "c1";
  u.labels = {{"b", "2"}};
  u.image = "other";
  auto r = store_->Update("default", u, {"labels.b", "image"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->labels.at("a"), "1");
  EXPECT_EQ(r->labels.at("b"), "2");
  EXPECT_EQ(r->image, "other");
  EXPECT_EQ(r->runtime_name, "io.containerd.runc.v2");

  // labels.<k> absent in the request clears it.
  r = store_->Update("default", u, {"labels.a"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->labels.count("a"), 0u);

  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", u, {"runtime"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", u, {"snapshotter"}).status()));

  // No mask: full replace of the mutable fields; immutable fields must match.
  Container full = Sample("c1");
  full.runtime_name = "io.containerd.berth.v2";
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", full, {}).status()));
  full = Sample("c1");
  full.labels = {{"z", "26"}};
  r = store_->Update("default", full, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->labels, (Labels{{"z", "26"}}));
  EXPECT_GE(r->updated_at, r->created_at);

  Container missing = Sample("nope");
  EXPECT_TRUE(absl::IsNotFound(store_->Update("default", missing, {"image"}).status()));
}

TEST_F(ContainersTest, ListFilters) {
  Container a = Sample("alpha");
  Container b = Sample("beta");
  b.image = "docker.io/library/alpine:3";
  b.runtime_name = "io.containerd.berth.v2";
  b.labels = {{"role", "db"}};
  ASSERT_TRUE(store_->Create("default", a).ok());
  ASSERT_TRUE(store_->Create("default", b).ok());
  auto list = [&](std::vector<std::string> f) {
    auto filter = Filter::ParseAll(f);
    EXPECT_TRUE(filter.ok());
    auto l = store_->List("default", *filter);
    EXPECT_TRUE(l.ok());
    std::vector<std::string> ids;
    for (auto& c : *l) ids.push_back(c.id);
    return ids;
  };
  EXPECT_EQ(list({}), (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(list({"id==beta"}), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(list({"image~=alpine"}), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(list({"runtime.name==io.containerd.runc.v2"}), (std::vector<std::string>{"alpha"}));
  EXPECT_EQ(list({"labels.role==db"}), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(list({"labels.role"}), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(list({"id==alpha", "id==beta"}), (std::vector<std::string>{"alpha", "beta"}));
}

TEST_F(ContainersTest, Delete) {
  ASSERT_TRUE(store_->Create("default", Sample("c1")).ok());
  ASSERT_TRUE(store_->Delete("default", "c1").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("default", "c1").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Delete("default", "c1")));
  // Labels went with it: a new container of the same id starts clean.
  Container c = Sample("c1");
  c.labels = {};
  ASSERT_TRUE(store_->Create("default", c).ok());
  EXPECT_TRUE(store_->Get("default", "c1")->labels.empty());
}

TEST(AnyCodec, RoundTrips) {
  AnyValue a{"t", std::string("\0" "x" "\xff", 3)};
  EXPECT_EQ(DecodeAny(EncodeAny(a)), a);
  std::map<std::string, AnyValue> m{{"k1", a}, {"k2", AnyValue{"u", ""}}};
  EXPECT_EQ(DecodeAnyMap(EncodeAnyMap(m)), m);
  EXPECT_FALSE(DecodeAny(std::string("\x0a\x05" "ab")).has_value());
}

}  // namespace
}  // namespace berth::metadata
