// Filter grammar and matching. The tables port the cases of containerd 1.6's filters package
// (filter_test.go, scanner_test.go): same inputs, same expected matches, tokens and errors.
#include "common/filters.h"

#include <gtest/gtest.h>

#include <map>

namespace berth {
namespace {

using namespace filters_internal;

struct Entry {
  std::string name;
  std::string other;
  std::map<std::string, std::string> labels;
};

const std::vector<Entry>& Corpus() {
  static const std::vector<Entry> corpus = {
      {"foo", "", {{"foo", "true"}}},
      {"bar", "", {}},
      {"foo", "", {{"foo", "present"}, {"more complex label", "present"}}},
      {"bar", "", {{"bar", "true"}}},
      {"fooer", "", {{"more complex label with \\ and \"", "present"}}},
      {"fooer", "", {{"more complex label with \\ and \".post", "present"}}},
      {"baz", "too complex, yo", {}},
      {"bazo", "abc", {}},
      {"compound", "", {{"foo", "omg_asdf.asdf-qwer"}}},
  };
  return corpus;
}

FilterAdaptor Adapt(const Entry& e) {
  return [&e](const FieldPath& p) -> std::optional<std::string> {
    if (p[0] == "name") return NonEmptyField(e.name);
    if (p[0] == "other") return NonEmptyField(e.other);
    if (p[0] == "labels") return LookupLabel(e.labels, p);
    return std::nullopt;
  };
}

// Indexes into Corpus() that `f` matches.
std::vector<int> Matches(const Filter& f) {
  std::vector<int> out;
  for (size_t i = 0; i < Corpus().size(); ++i) {
    if (f.Match(Adapt(Corpus()[i]))) out.push_back(static_cast<int>(i));
  }
  return out;
}

struct Case {
  const char* name;
  std::string input;
  std::vector<int> expected;
  std::string error;  // non-empty: the exact parse error
};

TEST(FiltersTest, ContainerdCases) {
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<Case> cases = {
      {"Empty", "", all, ""},
      {"Present", "name", all, ""},
      {"LabelPresent", "labels.foo", {0, 2, 8}, ""},
      {"NameAndLabelPresent", "labels.foo,name", {0, 2, 8}, ""},
      {"LabelValue", "labels.foo==true", {0}, ""},
      {"LabelValuePunctuated", "labels.foo==omg_asdf.asdf-qwer", {8}, ""},
      {"LabelValueNoAltQuoting", "labels.|foo|==omg_asdf.asdf-qwer", {},
       "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote encountered"},
      {"Name", "name==bar", {1, 3}, ""},
      {"NameNotEqual", "name!=bar", {0, 2, 4, 5, 6, 7, 8}, ""},
      {"NameAndLabelPresent", "name==bar,labels.bar", {3}, ""},
      {"QuotedValue", "other==\"too complex, yo\"", {6}, ""},
      {"RegexpValue", "other~=[abc]+,name!=foo", {6, 7}, ""},
      {"RegexpQuotedValue", "other~=/[abc]+/,name!=foo", {6, 7}, ""},
      {"RegexpQuotedValue", "other~=/[abc]{1,2}/,name!=foo", {6, 7}, ""},
      {"RegexpQuotedValueGarbage", "other~=/[abc]{0,1}\"\\//,name!=foo", {}, ""},
      {"NameAndLabelValue", "name==bar,labels.bar==true", {3}, ""},
      {"NameAndLabelValueNoMatch", "name==bar,labels.bar==wrong", {}, ""},
      {"LabelQuotedFieldPathPresent", R"(name==foo,labels."more complex label")", {2}, ""},
      {"LabelQuotedFieldPathPresentWithQuoted", R"(labels."more complex label with \\ and \""==present)", {4}, ""},
      {"LabelQuotedFieldPathPresentWithQuotedEmbed", R"(labels."more complex label with \\ and \"".post==present)",
       {5}, ""},
      {"LabelQuotedFieldPathPresentWithQuotedEmbedInvalid",
       R"(labels.?"more complex label with \\ and \"".post==present)", {},
       R"(filters: parse error: [labels. >|?|< "more complex label with \\ and \"".post==present]: expected field or quoted)"},
      {"TrailingComma", "name==foo,", {}, "filters: parse error: [name==foo,]: expected field or quoted"},
      {"TrailingFieldSeparator", "labels.", {}, "filters: parse error: [labels.]: expected field or quoted"},
      {"MissingValue", "image~=,id?=?fbaq", {},
       "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted"},
      {"FieldQuotedLiteralNotTerminated", "labels.ns/key==value", {},
       "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated"},
      {"ValueQuotedLiteralNotTerminated", "labels.key==/value", {},
       "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(StrCat(c.name, ": ", c.input));
    auto f = Filter::Parse(c.input);
    if (!c.error.empty()) {
      ASSERT_FALSE(f.ok());
      EXPECT_TRUE(absl::IsInvalidArgument(f.status()));
      EXPECT_EQ(f.status().message(), c.error);
      continue;
    }
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(Matches(*f), c.expected);
  }
}

// Further parse errors, each with containerd's message.
TEST(FiltersTest, ParseErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"==x", "[ >|=|< =x]: expected field or quoted"},
      {"name==", "[name==]: expected value or quoted"},
      {"name=x", "[name >|=|< x]: unsupported operator \"=\""},
      {"name===x", "[name >|=|< ==x]: unsupported operator \"===\""},
      {"name==x ", "[name==x >| |< ]: unexpected input:  "},
      {"name==a,", "[name==a,]: expected field or quoted"},
      {"labels.\"unterminated", "[labels. >|\"|< unterminated]: quoted literal not terminated"},
      {"labels.\"a\nb\"==c", "[labels. >|\"|< a\nb\"==c]: quoted literal not terminated"},
      {R"(labels."\g"==x)", R"([labels. >|"|< \g"==x]: illegal escape sequence)"},
      {R"(labels."\xaz"==x)", R"([labels. >|"|< \xaz"==x]: illegal numeric escape sequence)"},
      {R"(labels."\777"==x)", R"([labels. >|"|< \777"==x]: unquoting failed: quote syntax error)"},
      {"name==/x/", "[name== >|/|< x/]: invalid quote encountered"},
      {"name!=|x|", "[name!= >|||< x|]: invalid quote encountered"},
      {"labels.containerd.io/key==value", "[labels.containerd.io >|/|< key==value]: quoted literal not terminated"},
      {std::string("foo\0bar", 7), std::string("[foo >|") + '\0' + "|< bar]: unexpected null"},
      {"name\xff", "[name >|\xff|< ]: rune error"},
      {"name==\"x\"y", "[name==\"x\" >|y|< ]: unexpected input: y"},
      {"name.", "[name.]: expected field or quoted"},
      {"name,", "[name,]: expected field or quoted"},
      {"other~=.*", "[other~= >|.|< *]: expected value or quoted"},  // a bare value cannot start with "."
      {"a b", "[a  >|b|< ]: expected an operator (\"==\"|\"!=\"|\"~=\")"},
  };
  for (const auto& [in, msg] : cases) {
    auto f = Filter::Parse(in);
    ASSERT_FALSE(f.ok()) << in;
    EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << in;
    EXPECT_EQ(f.status().message(), "filters: parse error: " + msg) << in;
  }
  // ParseAll reports the first bad string, suffixed as containerd's errdefs wrapping does.
  auto all = Filter::ParseAll({"name==x", "name=="});
  ASSERT_FALSE(all.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(all.status()));
  EXPECT_EQ(all.status().message(), "filters: parse error: [name==]: expected value or quoted: invalid argument");
}

TEST(FiltersTest, SpacingAndQuoting) {
  auto m = [](const std::string& in, const Entry& e) {
    auto f = Filter::Parse(in);
    EXPECT_TRUE(f.ok()) << in << ": " << f.status();
    return f.ok() && f->Match(Adapt(e));
  };
  Entry e{"busybox", "a\tb/c|d", {{"a.b", "1"}, {"containerd.io/gc.ref", "x"}, {"empty", ""}}};
  EXPECT_TRUE(m("  name==busybox", e));  // white space before a token is skipped
  EXPECT_TRUE(m("name ==busybox", e));
  EXPECT_TRUE(m("name== busybox", e));
  EXPECT_TRUE(m("name == busybox", e));
  EXPECT_TRUE(m("name==busybox, labels.empty", e));
  EXPECT_TRUE(m("name==\"busybox\"", e));
  EXPECT_TRUE(m("name==\"busy\\x62ox\"", e));
  EXPECT_TRUE(m("name==\"\\u0062usybox\"", e));
  EXPECT_TRUE(m("name==\"\\142usybox\"", e));
  EXPECT_TRUE(m("other==\"a\\tb/c|d\"", e));
  EXPECT_TRUE(m("other~=\"\\t\"", e));
  EXPECT_TRUE(m("other~=/b\\/c/", e));
  EXPECT_TRUE(m("other~=|c\\\\\\|d$|", e));  // regexp c\|d: a literal "|"
  EXPECT_FALSE(m("other~=|^c\\\\\\|d|", e));
  EXPECT_TRUE(m("other~=|b/c|", e));
  EXPECT_TRUE(m("labels.\"a.b\"==1", e));
  EXPECT_TRUE(m("labels.a.b==1", e));  // the path is joined with "."
  EXPECT_TRUE(m("labels.\"containerd.io/gc.ref\"==x", e));
  EXPECT_TRUE(m("labels.empty==\"\"", e));  // present and empty
  EXPECT_TRUE(m("name==`busybox`", Entry{"`busybox`", "", {}}));  // backquotes are no quotes
  EXPECT_TRUE(m("name==a\"b", Entry{"a\"b", "", {}}));            // a bare value may hold quotes
  EXPECT_TRUE(m("name~=牛", Entry{"小牛", "", {}}));
  EXPECT_TRUE(m("name~=|^牛$|", Entry{"牛", "", {}}));
}

TEST(FiltersTest, OperatorsOnAbsentFields) {
  auto m = [](const std::string& in) {
    auto f = Filter::Parse(in);
    EXPECT_TRUE(f.ok()) << in << ": " << f.status();
    Entry e{"x", "", {{"k", "v"}}};
    return f.ok() && f->Match(Adapt(e));
  };
  EXPECT_FALSE(m("other"));
  EXPECT_FALSE(m("other==\"\""));   // == needs the field present
  EXPECT_TRUE(m("other!=y"));       // != compares an absent field as ""
  EXPECT_FALSE(m("other!=\"\""));
  EXPECT_TRUE(m("other~=^$"));      // so does ~=
  EXPECT_TRUE(m("other~=|.*|"));
  EXPECT_FALSE(m("other~=|.|"));
  EXPECT_TRUE(m("labels.missing!=v"));
  EXPECT_FALSE(m("labels.k!=v"));
}

TEST(FiltersTest, RegexpIsRe2FoundAnywhere) {
  auto m = [](const std::string& in, const std::string& name) {
    auto f = Filter::Parse(in);
    EXPECT_TRUE(f.ok()) << in << ": " << f.status();
    return f.ok() && f->Match(Adapt(Entry{name, "", {}}));
  };
  EXPECT_TRUE(m("name~=box", "busybox"));        // not anchored
  EXPECT_FALSE(m("name~=^box", "busybox"));
  EXPECT_TRUE(m("name~=(?i)BUSY", "busybox"));   // RE2 flags
  EXPECT_TRUE(m("name~=\\d{3}", "ab123"));
  EXPECT_TRUE(m("name~=[[:alpha:]]+$", "1ab"));
  EXPECT_FALSE(m("name~=a.b", "a\nb"));          // . does not match a newline
  // An invalid expression parses (containerd compiles it at match time) and matches nothing.
  EXPECT_FALSE(m("name~=(", "("));
  EXPECT_FALSE(m("name~=a(?=b)", "ab"));  // no look-ahead in RE2
}

TEST(FiltersTest, SeveralStringsAreOred) {
  auto any = [](const std::vector<std::string>& fs) {
    auto f = Filter::ParseAll(fs);
    EXPECT_TRUE(f.ok()) << f.status();
    return Matches(*f);
  };
  EXPECT_EQ(any({}), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(any({"name==bar", "name==baz"}), (std::vector<int>{1, 3, 6}));
  EXPECT_EQ(any({"name==bar,labels.bar", "other==abc"}), (std::vector<int>{3, 7}));
  EXPECT_EQ(any({"name==nope", ""}).size(), 9u);  // an empty string matches everything
  EXPECT_TRUE(Filter::ParseAll({})->MatchesAll());
  EXPECT_TRUE(Filter::ParseAll({"name==x", ""})->MatchesAll());
  EXPECT_FALSE(Filter::ParseAll({"name==x"})->MatchesAll());
  EXPECT_TRUE(Filter().MatchesAll());
}

// Docker's engine subscribes with filters like these; before the rewrite |…| was no quote and
// the pattern "|^/tasks/exit|" matched every topic.
TEST(FiltersTest, DockerEventFilter) {
  auto f = Filter::ParseAll({"namespace==moby,topic~=|^/tasks/exit|"});
  ASSERT_TRUE(f.ok()) << f.status();
  auto env = [&](const std::string& ns, const std::string& topic) {
    return f->Match([&](const FieldPath& p) -> std::optional<std::string> {
      if (p[0] == "namespace") return NonEmptyField(ns);
      if (p[0] == "topic") return NonEmptyField(topic);
      return std::nullopt;
    });
  };
  EXPECT_TRUE(env("moby", "/tasks/exit"));
  EXPECT_FALSE(env("moby", "/tasks/start"));
  EXPECT_FALSE(env("moby", "/containers/delete"));
  EXPECT_FALSE(env("default", "/tasks/exit"));
}

TEST(FiltersTest, LookupLabel) {
  std::map<std::string, std::string> labels = {{"a.b", "1"}, {"", "root"}};
  EXPECT_EQ(LookupLabel(labels, {"labels", "a", "b"}), "1");
  EXPECT_EQ(LookupLabel(labels, {"labels"}), "root");  // containerd joins an empty rest to ""
  EXPECT_EQ(LookupLabel(labels, {"labels", "a"}), std::nullopt);
  EXPECT_EQ(LookupLabel({}, {"labels"}), std::nullopt);
}

struct Tok {
  size_t pos;
  int32_t tok;
  std::string text;
  std::string err;
  bool operator==(const Tok&) const = default;
};

void PrintTo(const Tok& t, std::ostream* os) {
  *os << "{pos " << t.pos << " tok " << t.tok << " text \"" << t.text << "\" err \"" << t.err << "\"}";
}

std::vector<Tok> ScanAll(std::string_view in) {
  Scanner sc(in);
  std::vector<Tok> out;
  for (int i = 0; i < 100; ++i) {
    Token t = sc.Scan();
    out.push_back({t.pos, t.tok, std::string(t.text), t.tok == kTokIllegal ? sc.err() : ""});
    if (t.tok == kTokEOF) break;
  }
  EXPECT_EQ(sc.Scan().tok, kTokEOF) << "must consume all input";
  return out;
}

TEST(FiltersScannerTest, ContainerdCases) {
  const int32_t F = kTokField, O = kTokOperator, V = kTokValue, S = kTokSeparator, Q = kTokQuoted,
                I = kTokIllegal, E = kTokEOF;
  const std::vector<std::pair<std::string, std::vector<Tok>>> cases = {
      {"name", {{0, F, "name", ""}, {4, E, "", ""}}},
      {"name==value,foo!=bar",
       {{0, F, "name", ""}, {4, O, "==", ""}, {6, V, "value", ""}, {11, S, ",", ""}, {12, F, "foo", ""},
        {15, O, "!=", ""}, {17, V, "bar", ""}, {20, E, "", ""}}},
      {"name==value,labels.foo=value,other.bar~=match",
       {{0, F, "name", ""}, {4, O, "==", ""}, {6, V, "value", ""}, {11, S, ",", ""}, {12, F, "labels", ""},
        {18, S, ".", ""}, {19, F, "foo", ""}, {22, O, "=", ""}, {23, V, "value", ""}, {28, S, ",", ""},
        {29, F, "other", ""}, {34, S, ".", ""}, {35, F, "bar", ""}, {38, O, "~=", ""}, {40, V, "match", ""},
        {45, E, "", ""}}},
      {"name~=[abc]+,foo=test",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, V, "[abc]+", ""}, {12, S, ",", ""}, {13, F, "foo", ""},
        {16, O, "=", ""}, {17, V, "test", ""}, {21, E, "", ""}}},
      {R"(name~=[abc]\+,foo=test)",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, V, "[abc]\\+", ""}, {13, S, ",", ""}, {14, F, "foo", ""},
        {17, O, "=", ""}, {18, V, "test", ""}, {22, E, "", ""}}},
      {"name~=/[abc]{0,2}/,foo=test",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, Q, "/[abc]{0,2}/", ""}, {18, S, ",", ""}, {19, F, "foo", ""},
        {22, O, "=", ""}, {23, V, "test", ""}, {27, E, "", ""}}},
      {"name~=牛,labels.moo=true",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, V, "牛", ""}, {9, S, ",", ""}, {10, F, "labels", ""},
        {16, S, ".", ""}, {17, F, "moo", ""}, {20, O, "=", ""}, {21, V, "true", ""}, {25, E, "", ""}}},
      {"name~=|牛|,labels.moo=true",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, Q, "|牛|", ""}, {11, S, ",", ""}, {12, F, "labels", ""},
        {18, S, ".", ""}, {19, F, "moo", ""}, {22, O, "=", ""}, {23, V, "true", ""}, {27, E, "", ""}}},
      {R"(name~="asdf\n\tfooo")",
       {{0, F, "name", ""}, {4, O, "~=", ""}, {6, Q, "\"asdf\\n\\tfooo\"", ""}, {20, E, "", ""}}},
      {std::string("foo\0bar", 7),
       {{0, F, "foo", ""}, {3, I, "", "unexpected null"}, {4, F, "bar", ""}, {7, E, "", ""}}},
      {"foo = bar    ", {{0, F, "foo", ""}, {4, O, "=", ""}, {6, V, "bar", ""}, {13, E, "", ""}}},
      {"compound.labels==punctuated_value.foo-bar",
       {{0, F, "compound", ""}, {8, S, ".", ""}, {9, F, "labels", ""}, {15, O, "==", ""},
        {17, V, "punctuated_value.foo-bar", ""}, {41, E, "", ""}}},
      {"interrupted=", {{0, F, "interrupted", ""}, {11, O, "=", ""}, {12, E, "", ""}}},
      {"doublevalue=value value",
       {{0, F, "doublevalue", ""}, {11, O, "=", ""}, {12, V, "value", ""}, {18, F, "value", ""}, {23, E, "", ""}}},
      {R"("leading quote".postquote==value)",
       {{0, Q, "\"leading quote\"", ""}, {15, S, ".", ""}, {16, F, "postquote", ""}, {25, O, "==", ""},
        {27, V, "value", ""}, {32, E, "", ""}}},
      {"input==,id!=ff",
       {{0, F, "input", ""}, {5, O, "==", ""}, {7, S, ",", ""}, {8, F, "id", ""}, {10, O, "!=", ""},
        {12, V, "ff", ""}, {14, E, "", ""}}},
      {"input~=/foo\\/bar/,id!=ff",
       {{0, F, "input", ""}, {5, O, "~=", ""}, {7, Q, "/foo\\/bar/", ""}, {17, S, ",", ""}, {18, F, "id", ""},
        {20, O, "!=", ""}, {22, V, "ff", ""}, {24, E, "", ""}}},
      {"input~=|foo/bar|,id!=ff",
       {{0, F, "input", ""}, {5, O, "~=", ""}, {7, Q, "|foo/bar|", ""}, {16, S, ",", ""}, {17, F, "id", ""},
        {19, O, "!=", ""}, {21, V, "ff", ""}, {23, E, "", ""}}},
      {"labels.containerd.io/key==value",
       {{0, F, "labels", ""}, {6, S, ".", ""}, {7, F, "containerd", ""}, {17, S, ".", ""}, {18, F, "io", ""},
        {20, I, "/key==value", "quoted literal not terminated"}, {31, E, "", ""}}},
      {"labels.\"containerd.io\nkey\"==value",
       {{0, F, "labels", ""}, {6, S, ".", ""}, {7, I, "\"containerd.io\n", "quoted literal not terminated"},
        {22, F, "key", ""}, {25, I, "\"==value", "quoted literal not terminated"}, {33, E, "", ""}}},
      {R"(labels."\g")",
       {{0, F, "labels", ""}, {6, S, ".", ""}, {7, I, R"("\g")", "illegal escape sequence"}, {11, E, "", ""}}},
      {R"(labels."\xaz")",
       {{0, F, "labels", ""}, {6, S, ".", ""}, {7, I, R"("\xaz")", "illegal numeric escape sequence"},
        {13, E, "", ""}}},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(ScanAll(in), want) << in;
  }
}

TEST(FiltersScannerTest, Unquote) {
  EXPECT_EQ(Unquote("\"abc\""), "abc");
  EXPECT_EQ(Unquote("|a/b|"), "a/b");
  EXPECT_EQ(Unquote("/a\\/b/"), "a/b");
  EXPECT_EQ(Unquote("|a\\|b|"), "a|b");
  EXPECT_EQ(Unquote("\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\""), "\a\b\f\n\r\t\v\\\"");
  EXPECT_EQ(Unquote("\"\\xff\""), "\xff");
  EXPECT_EQ(Unquote("\"\\u00e9\\U0001F600\""), "\u00e9\U0001F600");
  EXPECT_EQ(Unquote("\"\\101\""), "A");
  EXPECT_EQ(Unquote("`a\\n\r`"), "a\\n");
  EXPECT_EQ(Unquote("'a'"), "a");
  EXPECT_EQ(Unquote("'ab'"), std::nullopt);
  EXPECT_EQ(Unquote("\"a\\/b\""), std::nullopt);  // \/ only inside /…/
  EXPECT_EQ(Unquote("\"\\777\""), std::nullopt);
  EXPECT_EQ(Unquote("\"\\U00110000\""), std::nullopt);
  EXPECT_EQ(Unquote("\"a"), std::nullopt);
  EXPECT_EQ(Unquote("\"a\nb\""), std::nullopt);
  EXPECT_EQ(Unquote("x"), std::nullopt);
}

}  // namespace
}  // namespace berth
