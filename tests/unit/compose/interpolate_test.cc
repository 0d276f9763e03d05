#include "compose/interpolate.h"

#include <gtest/gtest.h>

#include "compose/loader.h"

namespace berth::compose {
namespace {

Lookup Env(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Interpolate, Forms) {
  Lookup env = Env({{"A", "a"}, {"EMPTY", ""}, {"PORT", "8080"}});
  EXPECT_EQ(*Interpolate("$A-${A}-x", env), "a-a-x");
  EXPECT_EQ(*Interpolate("${PORT}:80", env), "8080:80");
  EXPECT_EQ(*Interpolate("${UNSET:-def}", env), "def");
  EXPECT_EQ(*Interpolate("${EMPTY:-def}", env), "def");
  EXPECT_EQ(*Interpolate("${EMPTY-def}", env), "");
  EXPECT_EQ(*Interpolate("${UNSET-def}", env), "def");
  EXPECT_EQ(*Interpolate("${A:+alt}", env), "alt");
  EXPECT_EQ(*Interpolate("${UNSET:+alt}", env), "");
  EXPECT_EQ(*Interpolate("${UNSET:-${A}b}", env), "ab");
  EXPECT_EQ(*Interpolate("$$A and $$", env), "$A and $");
  EXPECT_EQ(*Interpolate("cost: 5$", env), "cost: 5$");
  EXPECT_EQ(*Interpolate("$1", env), "$1");
}

TEST(Interpolate, MissingAndErrors) {
  Lookup env = Env({{"EMPTY", ""}});
  std::vector<std::string> missing;
  EXPECT_EQ(*Interpolate("x${NOPE}y$ALSO", env, &missing), "xy");
  EXPECT_EQ(missing, (std::vector<std::string>{"NOPE", "ALSO"}));
  auto r = Interpolate("${NEED:?set NEED please}", env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("required variable NEED is missing a value: set NEED please"), std::string::npos);
  EXPECT_FALSE(Interpolate("${EMPTY:?}", env).ok());
  EXPECT_TRUE(Interpolate("${EMPTY?}", env).ok());
  EXPECT_FALSE(Interpolate("${", env).ok());
  EXPECT_FALSE(Interpolate("${1A}", env).ok());
  EXPECT_FALSE(Interpolate("${A:x}", env).ok());
}

TEST(DotEnv, Syntax) {
  Lookup env = Env({{"HOSTVAR", "h"}});
  std::string text =
      "# comment\n"
      "A=1\n"
      "export B = two words  \n"
      "C='single $A \\n'\n"
      "D=\"double $A\\tx\"\n"
      "E=${A}${HOSTVAR} # trailing comment\n"
      "F=\"multi\nline\"\n"
      "\n"
      "HOSTVAR\n"
      "G=\n";
  auto r = ParseDotEnv(text, env);
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<std::string, std::string> m(r->begin(), r->end());
  EXPECT_EQ(m["A"], "1");
  EXPECT_EQ(m["B"], "two words");
  EXPECT_EQ(m["C"], "single $A \\n");
  EXPECT_EQ(m["D"], "double 1\tx");
  EXPECT_EQ(m["E"], "1h");
  EXPECT_EQ(m["F"], "multi\nline");
  EXPECT_EQ(m["HOSTVAR"], "h");
  EXPECT_EQ(m["G"], "");
  auto bad = ParseDotEnv("A=1\n1BAD=x\n", env);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseDotEnv("Q=\"open\n", env).ok());
}

TEST(Units, Durations) {
  EXPECT_EQ(*ParseDuration("1m30s"), 90'000'000'000);
  EXPECT_EQ(*ParseDuration("500ms"), 500'000'000);
  EXPECT_EQ(*ParseDuration("1h"), 3'600'000'000'000);
  EXPECT_EQ(*ParseDuration("2.5s"), 2'500'000'000);
  EXPECT_EQ(*ParseDuration("10"), 10'000'000'000);
  EXPECT_FALSE(ParseDuration("10x").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
}

TEST(Units, Bytes) {
  EXPECT_EQ(*ParseBytes("512m"), 512LL << 20);
  EXPECT_EQ(*ParseBytes("1g"), 1LL << 30);
  EXPECT_EQ(*ParseBytes("1GB"), 1LL << 30);
  EXPECT_EQ(*ParseBytes("100k"), 100LL << 10);
  EXPECT_EQ(*ParseBytes("64Mi"), 64LL << 20);
  EXPECT_EQ(*ParseBytes("1024"), 1024);
  EXPECT_FALSE(ParseBytes("12q").ok());
  EXPECT_FALSE(ParseBytes("m").ok());
}

TEST(Units, SplitCommand) {
  EXPECT_EQ(*SplitCommand("sh -c 'echo hi; exit 3'"), (std::vector<std::string>{"sh", "-c", "echo hi; exit 3"}));
  EXPECT_EQ(*SplitCommand("a \"b c\" d\\ e"), (std::vector<std::string>{"a", "b c", "d e"}));
  EXPECT_EQ(*SplitCommand("  "), std::vector<std::string>{});
  EXPECT_EQ(*SplitCommand("x ''"), (std::vector<std::string>{"x", ""}));
  EXPECT_FALSE(SplitCommand("echo 'open").ok());
}

}  // namespace
}  // namespace berth::compose
