#include "metadata/images.h"

#include <gtest/gtest.h>

#include "tests/unit/metadata/test_db.h"

namespace berth::metadata {
namespace {

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');
constexpr char kManifest[] = "application/vnd.oci.image.manifest.v1+json";

Image MakeImage(const std::string& name, const std::string& digest = kDigestA) {
  Image im;
  im.name = name;
  im.target = {kManifest, digest, 123, {}};
  return im;
}

class ImagesTest : public TempDbTest {
 protected:
  void SetUp() override {
    TempDbTest::SetUp();
    store_ = std::make_unique<ImageStore>(*db_);
  }
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImagesTest, CreateGetAndAlreadyExists) {
  Image im = MakeImage("docker.io/library/busybox:latest");
  im.labels = {{"a", "1"}, {"empty", ""}};
  auto created = store_->Create("default", im);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_at, 0);
  EXPECT_EQ(created->created_at, created->updated_at);
  auto got = store_->Get("default", im.name);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->target.digest, kDigestA);
  EXPECT_EQ(got->target.size, 123);
  EXPECT_EQ(got->labels, (Labels{{"a", "1"}}));
  EXPECT_TRUE(absl::IsAlreadyExists(store_->Create("default", im).status()));
  // Namespaces are separate.
  EXPECT_TRUE(absl::IsNotFound(store_->Get("other", im.name).status()));
  EXPECT_TRUE(store_->Create("other", im).ok());
}

TEST_F(ImagesTest, CreateValidates) {
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", MakeImage("")).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", MakeImage("x", "sha256:nope")).status()));
  Image im = MakeImage("x");
  im.target.size = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", im).status()));
  im = MakeImage("x");
  im.target.media_type = "";
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Create("default", im).status()));
}

TEST_F(ImagesTest, UpdateWithoutMaskReplacesAll) {
  Image im = MakeImage("img");
  im.labels = {{"a", "1"}, {"b", "2"}};
  auto created = store_->Create("default", im);
  ASSERT_TRUE(created.ok());
  Image repl = MakeImage("img", kDigestB);
  repl.labels = {{"c", "3"}};
  auto up = store_->Update("default", repl, {});
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->target.digest, kDigestB);
  EXPECT_EQ(up->labels, (Labels{{"c", "3"}}));
  EXPECT_EQ(up->created_at, created->created_at);
  EXPECT_GE(up->updated_at, created->updated_at);
}

TEST_F(ImagesTest, UpdateMasks) {
  Image im = MakeImage("img");
  im.labels = {{"a", "1"}, {"b", "2"}};
  im.target.annotations = {{"x", "1"}};
  ASSERT_TRUE(store_->Create("default", im).ok());

  Image patch = MakeImage("img", kDigestB);
  patch.labels = {{"a", "9"}, {"z", "26"}};
  auto up = store_->Update("default", patch, {"labels.a", "labels.b"});
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->labels, (Labels{{"a", "9"}}));  // b cleared (absent in patch), z not in mask
  EXPECT_EQ(up->target.digest, kDigestA);       // target untouched

  up = store_->Update("default", patch, {"target"});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->target.digest, kDigestB);
  EXPECT_TRUE(up->target.annotations.empty());

  patch.target.annotations = {{"y", "2"}};
  up = store_->Update("default", patch, {"annotations.y"});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->target.annotations, (std::map<std::string, std::string>{{"y", "2"}}));

  up = store_->Update("default", patch, {"labels"});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->labels, patch.labels);

  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", patch, {"name"}).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Update("default", MakeImage("missing"), {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", MakeImage(""), {}).status()));
  // A full replace that would make the record invalid is refused.
  Image bad = MakeImage("img");
  bad.target.size = -1;
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("default", bad, {}).status()));
}

TEST_F(ImagesTest, ListFilters) {
  Image a = MakeImage("docker.io/library/a:1");
  a.labels = {{"team", "x"}};
  Image b = MakeImage("docker.io/library/b:1", kDigestB);
  b.target.media_type = "application/vnd.oci.image.index.v1+json";
  ASSERT_TRUE(store_->Create("default", a).ok());
  ASSERT_TRUE(store_->Create("default", b).ok());
  auto names = [&](std::vector<std::string> f) {
    std::vector<std::string> out;
    auto l = store_->List("default", f);
    EXPECT_TRUE(l.ok()) << l.status();
    if (l.ok()) {
      for (const auto& im : *l) out.push_back(im.name);
    }
    return out;
  };
  EXPECT_EQ(names({}).size(), 2u);
  EXPECT_EQ(names({""}).size(), 2u);
  EXPECT_EQ(names({"name==docker.io/library/a:1"}), (std::vector<std::string>{"docker.io/library/a:1"}));
  EXPECT_EQ(names({"target.digest==" + kDigestB}), (std::vector<std::string>{"docker.io/library/b:1"}));
  EXPECT_EQ(names({"target.mediatype~=index"}), (std::vector<std::string>{"docker.io/library/b:1"}));
  EXPECT_EQ(names({"labels.team==x"}), (std::vector<std::string>{"docker.io/library/a:1"}));
  EXPECT_EQ(names({"labels.team"}), (std::vector<std::string>{"docker.io/library/a:1"}));
  EXPECT_EQ(names({"labels.team==x", "name~=b:"}).size(), 2u);  // ORed
  EXPECT_TRUE(names({"labels.team==y"}).empty());
  EXPECT_FALSE(store_->List("default", {"name=="}).ok() && false);
}

TEST_F(ImagesTest, DeleteNotFound) {
  ASSERT_TRUE(store_->Create("default", MakeImage("img")).ok());
  EXPECT_TRUE(store_->Delete("default", "img").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Delete("default", "img")));
  EXPECT_TRUE(absl::IsNotFound(store_->Get("default", "img").status()));
}

}  // namespace
}  // namespace berth::metadata
