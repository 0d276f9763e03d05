#include "cri/images.h"

#include <gtest/gtest.h>

namespace berth::cri {
namespace {

TEST(ClassifyNames, TagsDigestsAndIdsAreSeparated) {
  std::string dg = "sha256:" + std::string(64, 'a');
  std::string id = "sha256:" + std::string(64, 'b');
  std::vector<std::string> tags, digests;
  ClassifyNames({"docker.io/library/busybox:latest", "docker.io/library/busybox@" + dg, id, "busybox",
                 "127.0.0.1:5000/x/y:1", "docker.io/library/busybox:latest"},
                &tags, &digests);
  // "busybox" is not in normalised form: not a reference of the image (as containerd).
  EXPECT_EQ(tags, (std::vector<std::string>{"127.0.0.1:5000/x/y:1", "docker.io/library/busybox:latest"}));
  EXPECT_EQ(digests, (std::vector<std::string>{"docker.io/library/busybox@" + dg}));
}

TEST(UserFromConfig, NumericIsUidElseUsername) {
  std::optional<int64_t> uid;
  std::string name;
  UserFromConfig("1000:1000", &uid, &name);
  EXPECT_EQ(uid, 1000);
  EXPECT_EQ(name, "");
  UserFromConfig("nobody", &uid, &name);
  EXPECT_FALSE(uid);
  EXPECT_EQ(name, "nobody");
  UserFromConfig("www:wheel", &uid, &name);
  EXPECT_EQ(name, "www");
  UserFromConfig("", &uid, &name);
  EXPECT_FALSE(uid);
  EXPECT_EQ(name, "");
  UserFromConfig("0", &uid, &name);
  EXPECT_EQ(uid, 0);
}

TEST(Credentials, FromFieldsAuthOrIdentityToken) {
  Auth a;
  a.username = "u";
  a.password = "p";
  EXPECT_EQ(*Credentials(a), std::make_pair(std::string("u"), std::string("p")));
  Auth b;
  b.auth = "dXNlcjpzZWM6cmV0";  // user:sec:ret
  EXPECT_EQ(*Credentials(b), std::make_pair(std::string("user"), std::string("sec:ret")));
  Auth c;
  c.identity_token = "tok";
  EXPECT_EQ(*Credentials(c), std::make_pair(std::string(), std::string("tok")));
  Auth d;
  d.auth = "!!!";
  EXPECT_TRUE(absl::IsInvalidArgument(Credentials(d).status()));
  Auth e;
  e.auth = "bm9jb2xvbg==";  // nocolon
  EXPECT_TRUE(absl::IsInvalidArgument(Credentials(e).status()));
}

}  // namespace
}  // namespace berth::cri
