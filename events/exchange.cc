#include "events/exchange.h"

#include <time.h>

#include <vector>

namespace berth::events {

Status ValidateTopic(std::string_view topic) {
  if (topic.empty() || topic[0] != '/')
    return absl::InvalidArgumentError(StrCat("must start with '/': topic \"", topic, "\""));
  if (topic.size() == 1) return absl::InvalidArgumentError("must not be \"/\": invalid topic");
  size_t start = 1;
  while (start <= topic.size()) {
    size_t end = topic.find('/', start);
    if (end == std::string_view::npos) end = topic.size();
    if (end == start) return absl::InvalidArgumentError(StrCat("empty component in topic \"", topic, "\""));
    start = end + 1;
  }
  return Status();
}

void Exchange::Publish(Envelope env) {
  if (env.timestamp_ns == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    env.timestamp_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  std::vector<std::shared_ptr<Callback>> targets;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto adaptor = [&env](const FieldPath& p) -> std::optional<std::string> {
      if (p.empty()) return std::nullopt;
      if (p[0] == "topic") return NonEmptyField(env.topic);
      if (p[0] == "namespace") return NonEmptyField(env.ns);
      if (p[0] == "event" && env.event_field) return env.event_field(FieldPath(p.begin() + 1, p.end()));
      return std::nullopt;
    };
    for (auto& [id, sub] : subs_) {
      if (sub.filter.Match(adaptor)) targets.push_back(sub.cb);
    }
  }
  for (auto& cb : targets) (*cb)(env);
}

uint64_t Exchange::Subscribe(Filter filter, Callback cb) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_id_++;
  subs_.emplace(id, Sub{std::move(filter), std::make_shared<Callback>(std::move(cb))});
  return id;
}

void Exchange::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  subs_.erase(id);
}

}  // namespace berth::events
