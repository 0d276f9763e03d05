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

}  // namespace
}  // namespace berth::events
