#include "events/exchange.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::events {
namespace {

Envelope Env(const std::string& ns, const std::string& topic, const std::string& container_id) {
  Envelope e;
  e.ns = ns;
  e.topic = topic;
  e.type_url = "containerd.events.TaskExit";
  e.event_field = [container_id](const FieldPath& p) -> std::optional<std::string> {
    if (p.size() == 1 && p[0] == "container_id") return container_id;
    return std::nullopt;
  };
  return e;
}

std::vector<std::string> Deliver(const std::vector<std::string>& filters) {
  Exchange ex;
  std::vector<std::string> got;
  auto f = Filter::ParseAll(filters);
  EXPECT_TRUE(f.ok());
  uint64_t id = ex.Subscribe(*f, [&got](const Envelope& e) { got.push_back(e.ns + e.topic); });
  ex.Publish(Env("a", "/tasks/exit", "c1"));
  ex.Publish(Env("b", "/tasks/start", "c2"));
  ex.Publish(Env("a", "/containers/create", "c3"));
  ex.Unsubscribe(id);
  ex.Publish(Env("a", "/tasks/exit", "c1"));
  return got;
}

TEST(Exchange, FiltersOnTopicNamespaceAndEventFields) {
  EXPECT_EQ(Deliver({}).size(), 3u);
  EXPECT_EQ(Deliver({"topic==\"/tasks/exit\""}), (std::vector<std::string>{"a/tasks/exit"}));
  EXPECT_EQ(Deliver({"topic~=/tasks/"}), (std::vector<std::string>{"a/tasks/exit", "b/tasks/start"}));
  EXPECT_EQ(Deliver({"namespace==b"}), (std::vector<std::string>{"b/tasks/start"}));
  EXPECT_EQ(Deliver({"event.container_id==c3"}), (std::vector<std::string>{"a/containers/create"}));
  EXPECT_EQ(Deliver({"namespace==a,topic~=tasks", "namespace==b"}),
            (std::vector<std::string>{"a/tasks/exit", "b/tasks/start"}));
}

// Publishes one event on each of a set of topics in several namespaces and returns what a
// subscriber with `filters` receives, as "<namespace><topic>".
std::vector<std::string> DeliverTopics(const std::vector<std::string>& filters) {
  Exchange ex;
  std::vector<std::string> got;
  auto f = Filter::ParseAll(filters);
  EXPECT_TRUE(f.ok()) << f.status();
  if (!f.ok()) return got;
  ex.Subscribe(*f, [&got](const Envelope& e) { got.push_back(e.ns + e.topic); });
  for (const char* ns : {"moby", "default", "k8s.io"}) {
    for (const char* topic : {"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/oom", "/tasks/exec-added",
                              "/tasks/delete", "/containers/create", "/containers/delete", "/images/update",
                              "/snapshot/prepare", "/tasksx/foo"}) {
      ex.Publish(Env(ns, topic, "c"));
    }
  }
  return got;
}

// The filters real clients subscribe with. Docker's engine (libcontainerd) asks for its
// namespace's task events; containerd's CRI ORs two strings; the |…| and "…" quotes must be
// unquoted before the expression is compiled.
TEST(Exchange, DockerAndCriSubscriptionsGetExactlyTheirTopics) {
  using V = std::vector<std::string>;
  EXPECT_EQ(DeliverTopics({"namespace==moby,topic~=|^/tasks/|"}),
            (V{"moby/tasks/create", "moby/tasks/start", "moby/tasks/exit", "moby/tasks/oom", "moby/tasks/exec-added",
               "moby/tasks/delete"}));
  EXPECT_EQ(DeliverTopics({"namespace==moby,topic~=|^/tasks/exit|"}), (V{"moby/tasks/exit"}));
  EXPECT_EQ(DeliverTopics({"namespace==moby,topic~=|^/tasks/exit|", "namespace==moby,topic~=|^/tasks/oom|"}),
            (V{"moby/tasks/exit", "moby/tasks/oom"}));
  EXPECT_EQ(DeliverTopics({R"(topic=="/tasks/oom")", R"(topic~="/images/")"}),
            (V{"moby/tasks/oom", "moby/images/update", "default/tasks/oom", "default/images/update",
               "k8s.io/tasks/oom", "k8s.io/images/update"}));
  EXPECT_EQ(DeliverTopics({"namespace==k8s.io,topic~=/containers/"}),  // /…/ quotes too
            (V{"k8s.io/containers/create", "k8s.io/containers/delete"}));
  EXPECT_EQ(DeliverTopics({"namespace!=moby,topic==\"/snapshot/prepare\""}),
            (V{"default/snapshot/prepare", "k8s.io/snapshot/prepare"}));
  EXPECT_EQ(DeliverTopics({"event.container_id==c,namespace==default,topic~=|^/tasks/e|"}),
            (V{"default/tasks/exit", "default/tasks/exec-added"}));
  EXPECT_TRUE(DeliverTopics({"event.container_id==other"}).empty());
  EXPECT_EQ(DeliverTopics({}).size(), 33u);
}

TEST(Exchange, TimestampFilledAndTopicsValidated) {
  Exchange ex;
  int64_t ts = 0;
  ex.Subscribe(*Filter::ParseAll({}), [&ts](const Envelope& e) { ts = e.timestamp_ns; });
  ex.Publish(Env("a", "/x", ""));
  EXPECT_GT(ts, 0);
  EXPECT_TRUE(ValidateTopic("/tasks/exit").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateTopic("tasks")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateTopic("/")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateTopic("/a//b")));
}

// Hold: envelopes on held topics published before a subscriber came are given to it first, once,
// filtered; earlier subscribers get no replay; other topics are not held; the hold expires.
TEST(Exchange, HoldGivesLateSubscribersTheHeldEnvelopesOnce) {
  Exchange ex;
  ex.Hold({"/tasks/exit", "/tasks/oom"}, std::chrono::steady_clock::now() + std::chrono::hours(1));
  std::vector<std::string> early, late, other_ns;
  ex.Subscribe(*Filter::ParseAll({}), [&early](const Envelope& e) { early.push_back(e.ns + e.topic); });
  ex.Publish(Env("moby", "/tasks/exit", "c1"));
  ex.Publish(Env("moby", "/tasks/start", "c2"));
  ex.Publish(Env("other", "/tasks/oom", "c3"));
  EXPECT_EQ(ex.held(), 2u);
  ex.Subscribe(*Filter::ParseAll({"namespace==moby,topic~=|^/tasks/|"}),
               [&late](const Envelope& e) { late.push_back(e.ns + e.topic); });
  EXPECT_EQ(late, (std::vector<std::string>{"moby/tasks/exit"}));
  ex.Publish(Env("moby", "/tasks/exit", "c4"));
  EXPECT_EQ(late, (std::vector<std::string>{"moby/tasks/exit", "moby/tasks/exit"}));
  EXPECT_EQ(early, (std::vector<std::string>{"moby/tasks/exit", "moby/tasks/start", "other/tasks/oom", "moby/tasks/exit"}));
  ex.Subscribe(*Filter::ParseAll({"namespace==other"}), [&other_ns](const Envelope& e) { other_ns.push_back(e.topic); });
  EXPECT_EQ(other_ns, (std::vector<std::string>{"/tasks/oom"}));

  Exchange expired;
  expired.Hold({"/tasks/exit"}, std::chrono::steady_clock::now() - std::chrono::seconds(1));
  expired.Publish(Env("moby", "/tasks/exit", "c1"));
  EXPECT_EQ(expired.held(), 0u);
  std::vector<std::string> none;
  expired.Subscribe(*Filter::ParseAll({}), [&none](const Envelope& e) { none.push_back(e.topic); });
  EXPECT_TRUE(none.empty());

  Exchange bounded;
  bounded.Hold({"/tasks/exit"}, std::chrono::steady_clock::now() + std::chrono::hours(1));
  for (size_t i = 0; i < Exchange::kMaxHeld + 5; ++i) bounded.Publish(Env("moby", "/tasks/exit", "c"));
  EXPECT_EQ(bounded.held(), Exchange::kMaxHeld);
}

}  // namespace
}  // namespace berth::events
