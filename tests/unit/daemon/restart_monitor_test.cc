// The restart monitor without gRPC or shims: containerd's decision rules (DecideRestart), the log
// URI labels, Go durations and the config key, and the reconcile loop over a fake backend.
#include "daemon/restart_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "daemon/config.h"

namespace berth::daemon {
namespace {

using State = ObservedTask::State;
using Action = RestartDecision::Action;

ObservedTask Task(State s, uint32_t exit_status = 0) { return ObservedTask{s, exit_status}; }

RestartLabels Running(RestartLabels extra = {}) {
  extra[kRestartStatusLabel] = "running";
  return extra;
}

TEST(DecideRestartTest, RunningWantedStartsAMissingOrExitedTask) {
  for (State s : {State::kMissing, State::kStopped, State::kCreated, State::kUnknown}) {
    RestartDecision d = DecideRestart(Running(), Task(s, 137));
    EXPECT_EQ(d.action, Action::kStart) << static_cast<int>(s);
    EXPECT_EQ(d.count, 1);
    EXPECT_EQ(d.log_uri, "");
  }
  EXPECT_EQ(DecideRestart(Running(), Task(State::kRunning)).action, Action::kNone);
  EXPECT_EQ(DecideRestart(Running(), Task(State::kPaused)).action, Action::kNone);
  EXPECT_EQ(DecideRestart(Running(), Task(State::kPausing)).action, Action::kNone);
  // The count goes up from the label.
  EXPECT_EQ(DecideRestart(Running({{kRestartCountLabel, "4"}}), Task(State::kStopped)).count, 5);
}

TEST(DecideRestartTest, StoppedWantedStopsARunningTask) {
  RestartLabels stopped{{kRestartStatusLabel, "stopped"}};
  EXPECT_EQ(DecideRestart(stopped, Task(State::kRunning)).action, Action::kStop);
  EXPECT_EQ(DecideRestart(stopped, Task(State::kPaused)).action, Action::kStop);
  EXPECT_EQ(DecideRestart(stopped, Task(State::kCreated)).action, Action::kStop);
  EXPECT_EQ(DecideRestart(stopped, Task(State::kStopped)).action, Action::kNone);
  EXPECT_EQ(DecideRestart(stopped, Task(State::kMissing)).action, Action::kNone);
  EXPECT_EQ(DecideRestart(stopped, Task(State::kUnknown)).action, Action::kNone);
  EXPECT_EQ(DecideRestart({{kRestartStatusLabel, "paused"}}, Task(State::kRunning)).action, Action::kNone);
}

TEST(DecideRestartTest, PoliciesAsContainerd17) {
  auto decide = [](RestartLabels l, ObservedTask t) { return DecideRestart(Running(std::move(l)), t).action; };
  EXPECT_EQ(decide({{kRestartPolicyLabel, "always"}}, Task(State::kStopped)), Action::kStart);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "no"}}, Task(State::kStopped)), Action::kNone);
  // unless-stopped honours restart.explicitly-stopped (Go's ParseBool spellings).
  EXPECT_EQ(decide({{kRestartPolicyLabel, "unless-stopped"}}, Task(State::kStopped)), Action::kStart);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "unless-stopped"}, {kRestartExplicitlyStoppedLabel, "false"}},
                   Task(State::kStopped)),
            Action::kStart);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "unless-stopped"}, {kRestartExplicitlyStoppedLabel, "true"}},
                   Task(State::kStopped)),
            Action::kNone);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "unless-stopped"}, {kRestartExplicitlyStoppedLabel, "1"}},
                   Task(State::kMissing)),
            Action::kNone);
  // Under "always" (and with no policy, containerd 1.6's only behaviour) the label is ignored.
  EXPECT_EQ(decide({{kRestartExplicitlyStoppedLabel, "true"}}, Task(State::kStopped)), Action::kStart);
  // on-failure[:N]: only non-zero exits, at most N restarts.
  EXPECT_EQ(decide({{kRestartPolicyLabel, "on-failure"}}, Task(State::kStopped, 0)), Action::kNone);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "on-failure"}}, Task(State::kStopped, 1)), Action::kStart);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "on-failure:2"}, {kRestartCountLabel, "1"}}, Task(State::kStopped, 1)),
            Action::kStart);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "on-failure:2"}, {kRestartCountLabel, "2"}}, Task(State::kStopped, 1)),
            Action::kNone);
  // Malformed policies never restart.
  EXPECT_EQ(decide({{kRestartPolicyLabel, "always:3"}}, Task(State::kStopped)), Action::kNone);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "on-failure:x"}}, Task(State::kStopped, 1)), Action::kNone);
  EXPECT_EQ(decide({{kRestartPolicyLabel, "sometimes"}}, Task(State::kStopped)), Action::kNone);
}

TEST(RestartLogUriTest, LogUriAndLegacyLogPath) {
  EXPECT_EQ(*RestartLogUri({}), "");
  EXPECT_EQ(*RestartLogUri({{kRestartLogPathLabel, "/var/log/c.log"}}), "file:///var/log/c.log");
  EXPECT_EQ(*RestartLogUri({{kRestartLogUriLabel, "file:///tmp/x.log"}}), "file:///tmp/x.log");
  EXPECT_EQ(*RestartLogUri({{kRestartLogUriLabel, "binary:///usr/bin/logger?tag=x"}}),
            "binary:///usr/bin/logger?tag=x");
  // loguri wins over the deprecated logpath.
  EXPECT_EQ(*RestartLogUri({{kRestartLogUriLabel, "file:///a"}, {kRestartLogPathLabel, "/b"}}), "file:///a");
  EXPECT_TRUE(absl::IsInvalidArgument(RestartLogUri({{kRestartLogPathLabel, "relative.log"}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(RestartLogUri({{kRestartLogUriLabel, "no scheme"}}).status()));
  // A bad log label keeps the container down (the reason is logged).
  RestartDecision d = DecideRestart(Running({{kRestartLogPathLabel, "rel"}}), Task(State::kStopped));
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_NE(d.why.find("absolute path needed"), std::string::npos) << d.why;
  d = DecideRestart(Running({{kRestartLogUriLabel, "file:///l"}}), Task(State::kMissing));
  EXPECT_EQ(d.log_uri, "file:///l");
}

TEST(ParseGoDurationTest, GoSyntax) {
  using std::chrono::nanoseconds;
  EXPECT_EQ(*ParseGoDuration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(*ParseGoDuration("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseGoDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseGoDuration("1.5h"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseGoDuration("250us"), std::chrono::microseconds(250));
  EXPECT_EQ(*ParseGoDuration("0"), nanoseconds(0));
  for (const char* bad : {"", "10", "s", "1x", "1..2s", "ten seconds"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseGoDuration(bad).status())) << bad;
  }
}

TEST(RestartConfigTest, IntervalFromPluginSection) {
  Config c;
  EXPECT_EQ(c.restart_monitor_interval_ms, 10000);
  ASSERT_TRUE(ParseConfig("version = 2\n[plugins.\"io.containerd.monitor.v1.restart\"]\ninterval = \"1s\"\n", "t.toml",
                          &c)
                  .ok());
  EXPECT_EQ(c.restart_monitor_interval_ms, 1000);
  ASSERT_TRUE(ParseConfig("version = 2\n[plugins.\"io.containerd.internal.v1.restart\"]\ninterval = \"250ms\"\n",
                          "t.toml", &c)
                  .ok());
  EXPECT_EQ(c.restart_monitor_interval_ms, 250);
  // A version 1 file names the plugin by its short id.
  ASSERT_TRUE(ParseConfig("[plugins.restart]\ninterval = \"2s\"\n", "t.toml", &c).ok());
  EXPECT_EQ(c.restart_monitor_interval_ms, 2000);
  Status s = ParseConfig("version = 2\n[plugins]\n[plugins.\"io.containerd.monitor.v1.restart\"]\ninterval = \"often\"\n",
                         "t.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("t.toml:4"), std::string::npos) << s;
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseConfig("version = 2\n[plugins.\"io.containerd.monitor.v1.restart\"]\ninterval = 10\n", "t.toml", &c)));
}

// A world of namespaces, labelled containers and task states; the actions change it.
class FakeBackend final : public RestartBackend {
 public:
  struct Entry {
    RestartLabels labels;
    ObservedTask task;
  };
  std::map<std::string, std::map<std::string, Entry>> world;  // ns -> id -> entry
  std::vector<std::string> log;                                // "start ns/id uri count", "stop ns/id"
  int reconciles = 0;
  Status fail_start;
  std::mutex mu;
  std::condition_variable cv;

  StatusOr<std::vector<std::string>> Namespaces() override {
    std::lock_guard<std::mutex> l(mu);
    ++reconciles;
    cv.notify_all();
    std::vector<std::string> out;
    for (const auto& [ns, _] : world) out.push_back(ns);
    return out;
  }
  StatusOr<std::vector<Labelled>> Containers(const std::string& ns) override {
    std::lock_guard<std::mutex> l(mu);
    std::vector<Labelled> out;
    for (const auto& [id, e] : world[ns]) {
      if (e.labels.count(kRestartStatusLabel)) out.push_back(Labelled{id, e.labels});
    }
    return out;
  }
  ObservedTask Observe(const std::string& ns, const std::string& id) override {
    std::lock_guard<std::mutex> l(mu);
    return world[ns][id].task;
  }
  Status StopTask(const std::string& ns, const std::string& id) override {
    std::lock_guard<std::mutex> l(mu);
    log.push_back(StrCat("stop ", ns, "/", id));
    world[ns][id].task = Task(State::kMissing);
    return Status();
  }
  Status StartTask(const std::string& ns, const std::string& id, const std::string& uri, int count) override {
    std::lock_guard<std::mutex> l(mu);
    log.push_back(StrCat("start ", ns, "/", id, " ", uri, " ", count));
    if (!fail_start.ok()) return fail_start;
    auto& e = world[ns][id];
    e.labels[kRestartCountLabel] = std::to_string(count);
    e.task = Task(State::kRunning);
    return Status();
  }
};

TEST(RestartMonitorTest, ReconcileAppliesEveryChangeInEveryNamespace) {
  FakeBackend b;
  b.world["default"]["web"] = {Running({{kRestartLogUriLabel, "file:///tmp/web.log"}}), Task(State::kStopped, 137)};
  b.world["default"]["up"] = {Running(), Task(State::kRunning)};
  b.world["default"]["plain"] = {{}, Task(State::kStopped)};  // no restart label: left alone
  b.world["other"]["db"] = {Running(), Task(State::kMissing)};
  b.world["other"]["down"] = {{{kRestartStatusLabel, "stopped"}}, Task(State::kRunning)};
  EXPECT_EQ(RestartMonitor::Reconcile(b), 3);
  std::sort(b.log.begin(), b.log.end());
  EXPECT_EQ(b.log, (std::vector<std::string>{"start default/web file:///tmp/web.log 1", "start other/db  1",
                                             "stop other/down"}));
  // Converged: nothing more to do; a failed start is retried on the next pass.
  b.log.clear();
  EXPECT_EQ(RestartMonitor::Reconcile(b), 0);
  b.world["default"]["web"].task = Task(State::kStopped, 1);
  b.fail_start = absl::InternalError("shim failed");
  EXPECT_EQ(RestartMonitor::Reconcile(b), 1);
  EXPECT_EQ(RestartMonitor::Reconcile(b), 1);
  EXPECT_EQ(b.log, (std::vector<std::string>{"start default/web file:///tmp/web.log 2",
                                             "start default/web file:///tmp/web.log 2"}));
}

TEST(RestartMonitorTest, LoopRunsAtTheIntervalAndStopsPromptly) {
  FakeBackend b;
  b.world["default"]["c"] = {Running(), Task(State::kStopped)};
  {
    RestartMonitor m(b, std::chrono::milliseconds(10));
    std::unique_lock<std::mutex> l(b.mu);
    // A bounded wait for a few passes (generous: the loop is 10 ms).
    ASSERT_TRUE(b.cv.wait_for(l, std::chrono::seconds(30), [&] { return b.reconciles >= 3; }));
    EXPECT_EQ(b.world["default"]["c"].task.state, State::kRunning);
  }  // destruction stops the loop
  std::lock_guard<std::mutex> l(b.mu);
  EXPECT_EQ(std::count_if(b.log.begin(), b.log.end(), [](const std::string& s) { return s.rfind("start", 0) == 0; }),
            1);
}

}  // namespace
}  // namespace berth::daemon
