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

bool Exchange::Matches(const Filter& f, const Envelope& env) const {
  auto adaptor = [&env](const FieldPath& p) -> std::optional<std::string> {
    if (p.empty()) return std::nullopt;
    if (p[0] == "topic") return NonEmptyField(env.topic);
    if (p[0] == "namespace") return NonEmptyField(env.ns);
    if (p[0] == "event" && env.event_field) return env.event_field(FieldPath(p.begin() + 1, p.end()));
    return std::nullopt;
  };
  return f.Match(adaptor);
}

void Exchange::ExpireHoldLocked() {
  if (hold_prefixes_.empty() || std::chrono::steady_clock::now() < hold_until_) return;
  hold_prefixes_.clear();
  held_.clear();
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
    for (auto& [id, sub] : subs_) {
      if (Matches(sub.filter, env)) targets.push_back(sub.cb);
    }
    ExpireHoldLocked();
    for (const std::string& prefix : hold_prefixes_) {
      if (env.topic.compare(0, prefix.size(), prefix) != 0) continue;
      if (held_.size() >= kMaxHeld) held_.pop_front();
      held_.push_back(env);
      break;
    }
  }
  for (auto& cb : targets) (*cb)(env);
}

uint64_t Exchange::Subscribe(Filter filter, Callback cb) {
  auto shared = std::make_shared<Callback>(std::move(cb));
  std::vector<Envelope> replay;
  uint64_t id;
  {
    std::lock_guard<std::mutex> l(mu_);
    id = next_id_++;
    ExpireHoldLocked();
    for (const Envelope& env : held_) {
      if (Matches(filter, env)) replay.push_back(env);
    }
    subs_.emplace(id, Sub{std::move(filter), shared});
  }
  for (const Envelope& env : replay) (*shared)(env);
  return id;
}

void Exchange::Hold(std::vector<std::string> topic_prefixes, std::chrono::steady_clock::time_point until) {
  std::lock_guard<std::mutex> l(mu_);
  hold_prefixes_ = std::move(topic_prefixes);
  hold_until_ = until;
  held_.clear();
}

size_t Exchange::held() const {
  std::lock_guard<std::mutex> l(mu_);
  return held_.size();
}

void Exchange::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  subs_.erase(id);
}

}  // namespace berth::events
