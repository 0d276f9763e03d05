#include "daemon/restart_monitor.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "common/filters.h"
#include "common/log.h"

namespace berth::daemon {
namespace {

using State = ObservedTask::State;
using Action = RestartDecision::Action;

constexpr int kParallelChanges = 4;

const std::string& LabelOr(const RestartLabels& labels, const char* key) {
  static const std::string kEmpty;
  auto it = labels.find(key);
  return it == labels.end() ? kEmpty : it->second;
}

// Go's strconv.ParseBool.
bool ParseGoBool(const std::string& s) {
  return s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True";
}

bool ParseCount(const std::string& s, int* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return false;
  *out = static_cast<int>(v);
  return true;
}

// containerd 1.7's restart.Reconcile: whether the policy lets a stopped task restart.
bool PolicyAllows(const RestartLabels& labels, const ObservedTask& task, std::string* why) {
  const std::string& policy = LabelOr(labels, kRestartPolicyLabel);
  std::string name = policy.substr(0, policy.find(':'));
  bool has_arg = policy.find(':') != std::string::npos;
  if (name.empty() || name == "always" || name == "no" || name == "unless-stopped") {
    if (has_arg) {
      *why = StrCat("restart policy \"", name, "\" not support max retry count");
      return false;
    }
  }
  if (name.empty() || name == "always") return true;
  if (name == "no") {
    *why = "restart policy \"no\"";
    return false;
  }
  if (name == "unless-stopped") {
    if (ParseGoBool(LabelOr(labels, kRestartExplicitlyStoppedLabel))) {
      *why = "explicitly stopped";
      return false;
    }
    return true;
  }
  if (name == "on-failure") {
    int max = 0, count = 0;
    if (has_arg && !ParseCount(policy.substr(policy.find(':') + 1), &max)) {
      *why = StrCat("invalid max retry count: ", policy.substr(policy.find(':') + 1));
      return false;
    }
    if (!ParseCount(LabelOr(labels, kRestartCountLabel), &count)) {
      *why = StrCat("invalid restart count \"", LabelOr(labels, kRestartCountLabel), "\"");
      return false;
    }
    if (task.exit_status != 0 && (max == 0 || count < max)) return true;
    *why = StrCat("on-failure: exit status ", task.exit_status, ", ", count, " restarts");
    return false;
  }
  *why = StrCat("restart policy \"", policy, "\" not supported");
  return false;
}

}  // namespace

RestartDecision DecideRestart(const RestartLabels& labels, const ObservedTask& task) {
  RestartDecision d;
  const std::string& desired = LabelOr(labels, kRestartStatusLabel);
  if (desired == "running") {
    switch (task.state) {
      case State::kRunning:
        d.why = "running";
        return d;
      case State::kPaused:
      case State::kPausing:
        d.why = "paused";
        return d;
      default:
        break;
    }
    if (!PolicyAllows(labels, task, &d.why)) return d;
    auto uri = RestartLogUri(labels);
    if (!uri.ok()) {
      d.why = std::string(uri.status().message());
      return d;
    }
    int count = 0;
    (void)ParseCount(LabelOr(labels, kRestartCountLabel), &count);
    d.action = Action::kStart;
    d.count = count + 1;
    d.log_uri = *uri;
    d.why = task.state == State::kMissing ? "no task" : "task not running";
    return d;
  }
  if (desired == "stopped") {
    if (task.state == State::kMissing || task.state == State::kUnknown || task.state == State::kStopped) {
      d.why = "not running";
      return d;
    }
    d.action = Action::kStop;
    d.why = "task not stopped";
    return d;
  }
  d.why = StrCat("unknown desired status \"", desired, "\"");
  return d;
}

StatusOr<std::string> RestartLogUri(const RestartLabels& labels) {
  const std::string& uri = LabelOr(labels, kRestartLogUriLabel);
  const std::string& path = LabelOr(labels, kRestartLogPathLabel);
  if (!uri.empty()) {
    if (!path.empty()) {
      BLOG(Warn) << "restart: " << kRestartLogPathLabel << "=" << path << " has been deprecated, using "
                 << kRestartLogUriLabel << "=" << uri;
    }
    size_t colon = uri.find("://");
    bool scheme_ok = colon != std::string::npos && colon > 0 &&
                     std::all_of(uri.begin(), uri.begin() + static_cast<long>(colon), [](unsigned char c) {
                       return std::isalnum(c) || c == '+' || c == '-' || c == '.';
                     });
    if (!scheme_ok) return absl::InvalidArgumentError(StrCat("failed to parse ", uri, " into a log uri"));
    return uri;
  }
  if (!path.empty()) {
    if (path[0] != '/') return absl::InvalidArgumentError(StrCat("log path ", path, ": absolute path needed"));
    return "file://" + path;
  }
  return std::string();
}

StatusOr<std::chrono::nanoseconds> ParseGoDuration(const std::string& text) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("time: invalid duration \"", text, "\"")); };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return bad();
  static const std::pair<const char*, double> kUnits[] = {{"ns", 1},     {"us", 1e3},   {"µs", 1e3}, {"μs", 1e3},
                                                          {"ms", 1e6},   {"s", 1e9},    {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) return bad();
    std::string number(s.substr(0, n));
    if (number == "." || std::count(number.begin(), number.end(), '.') > 1) return bad();
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    const double* scale = nullptr;
    for (const auto& [name, value] : kUnits) {
      if (unit == name) scale = &value;
    }
    if (scale == nullptr) return bad();
    total += std::strtod(number.c_str(), nullptr) * *scale;
  }
  if (total > 9.2e18) return bad();
  auto ns = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
  return neg ? -ns : ns;
}

RestartMonitor::RestartMonitor(RestartBackend& backend, std::chrono::nanoseconds interval)
    : backend_(backend), interval_(interval.count() > 0 ? interval : std::chrono::seconds(10)) {
  thread_ = std::thread([this] { Run(); });
}

RestartMonitor::~RestartMonitor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RestartMonitor::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    l.unlock();
    Reconcile(backend_);
    l.lock();
    cv_.wait_for(l, interval_, [this] { return stop_; });
  }
}

int RestartMonitor::Reconcile(RestartBackend& backend) {
  struct Change {
    std::string ns, id;
    RestartDecision decision;
  };
  std::vector<Change> changes;
  auto namespaces = backend.Namespaces();
  if (!namespaces.ok()) {
    BLOG(Error) << "restart monitor: list namespaces: " << namespaces.status();
    return 0;
  }
  for (const auto& ns : *namespaces) {
    auto containers = backend.Containers(ns);
    if (!containers.ok()) {
      BLOG(Error) << "restart monitor: list containers of " << ns << ": " << containers.status();
      continue;
    }
    for (const auto& c : *containers) {
      RestartDecision d = DecideRestart(c.labels, backend.Observe(ns, c.id));
      if (d.action == Action::kNone) {
        BLOG(Debug) << "restart monitor: " << ns << "/" << c.id << ": " << d.why;
        continue;
      }
      changes.push_back(Change{ns, c.id, std::move(d)});
    }
  }
  // Applied a few at a time, as containerd applies them concurrently; all done on return.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < changes.size();) {
      const Change& c = changes[i];
      Status s;
      if (c.decision.action == Action::kStart) {
        BLOG(Info) << "restart monitor: starting " << c.ns << "/" << c.id << " (" << c.decision.why << ")";
        s = backend.StartTask(c.ns, c.id, c.decision.log_uri, c.decision.count);
      } else {
        BLOG(Info) << "restart monitor: stopping " << c.ns << "/" << c.id << " (" << c.decision.why << ")";
        s = backend.StopTask(c.ns, c.id);
      }
      if (!s.ok()) {
        BLOG(Error) << "restart monitor: apply change to " << c.ns << "/" << c.id << ": " << s;
      }
    }
  };
  std::vector<std::thread> workers;
  size_t n = std::min<size_t>(kParallelChanges, changes.size());
  for (size_t i = 1; i < n; ++i) workers.emplace_back(worker);
  if (n > 0) worker();
  for (auto& t : workers) t.join();
  return static_cast<int>(changes.size());
}

}  // namespace berth::daemon
