#include "common/filters.h"

#include <gtest/gtest.h>

#include <map>

namespace berth {
namespace {

struct Obj {
  std::string name;
  std::map<std::string, std::string> labels;
};

bool M(const std::vector<std::string>& f, const Obj& o) {
  auto filter = Filter::ParseAll(f);
  EXPECT_TRUE(filter.ok()) << filter.status();
  return filter->Match([&](const FieldPath& p) -> std::optional<std::string> {
    if (p.empty()) return std::nullopt;
    if (p[0] == "name") return o.name;
    if (p[0] == "labels") return LookupLabel(o.labels, p);
    return std::nullopt;
  });
}

TEST(FiltersTest, EmptyMatchesAll) {
  Obj o{"x", {}};
  EXPECT_TRUE(M({}, o));
  EXPECT_TRUE(M({""}, o));
}

TEST(FiltersTest, Operators) {
  Obj o{"busybox", {{"a.b", "1"}, {"env", "prod"}}};
  EXPECT_TRUE(M({"name==busybox"}, o));
  EXPECT_FALSE(M({"name==alpine"}, o));
  EXPECT_TRUE(M({"name!=alpine"}, o));
  EXPECT_TRUE(M({"name~=^busy"}, o));
  EXPECT_FALSE(M({"name~=^box"}, o));
  EXPECT_TRUE(M({"labels.env"}, o));
  EXPECT_FALSE(M({"labels.missing"}, o));
  EXPECT_TRUE(M({"labels.\"a.b\"==1"}, o));
  EXPECT_TRUE(M({"labels.a.b==1"}, o));
  EXPECT_TRUE(M({"name==busybox,labels.env==prod"}, o));
  EXPECT_FALSE(M({"name==busybox,labels.env==dev"}, o));
  EXPECT_TRUE(M({"name==nope", "labels.env==prod"}, o));
  EXPECT_TRUE(M({"name==\"busybox\""}, o));
}

TEST(FiltersTest, Malformed) {
  for (const char* bad : {"==x", "name==", "name==a,", "name~=(", "labels.\"unterminated"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Filter::Parse(bad).status())) << bad;
  }
}

}  // namespace
}  // namespace berth
