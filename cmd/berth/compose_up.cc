// compose up and down: reconciling a project's containers with its file, waiting for dependency
// conditions, and following the containers' logs.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/strings/str_join.h"
#include "cmd/berth/compose_engine.h"
#include "cmd/berth/create.h"
#include "cmd/berth/health.h"
#include "cmd/berth/volumes.h"
#include "compose/render.h"

namespace berth::cli {
namespace {

std::string Label(const cov1::Container& c, const char* key) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? "" : it->second;
}

// The state of a container as docker shows it, with its task looked up.
StatusOr<ContainerStatus> StateOf(const Globals& g, const cov1::Container& c) {
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  return StatusOf(c, task ? &*task : nullptr);
}

// Stops (signal, grace period, SIGKILL) and removes a container with its anonymous volumes.
Status StopAndRemove(const Globals& g, const cov1::Container& c, int timeout, std::ostream& progress) {
  std::string id;
  progress << " Container " << c.id() << "  Stopping\n";
  RETURN_IF_ERROR(StopContainer(g, c.id(), 0, timeout, &id));
  RETURN_IF_ERROR(RemoveContainer(g, c, true, true));
  progress << " Container " << c.id() << "  Removed\n";
  return Status();
}

// Creates, starts or leaves running the replicas of one service, removing replicas beyond its
// count; the log of every replica that is up goes to *sources.
Status UpService(const Globals& g, const compose::Project& p, const compose::Service& s,
                 const std::vector<cov1::Container>& existing, const UpOptions& o, std::vector<LogSource>* sources) {
  std::ostream& progress = std::cerr;
  const std::string hash = compose::ConfigHash(s);
  std::map<int, cov1::Container> have;
  std::vector<cov1::Container> extra;
  for (const auto& c : existing) {
    if (ServiceOf(c) != s.name) continue;
    int n = NumberOf(c);
    if (n >= 1 && n <= s.replicas && !have.count(n)) {
      have[n] = c;
    } else {
      extra.push_back(c);
    }
  }
  bool waited = false;
  auto start = [&](const cov1::Container& c) -> Status {
    if (o.no_start) return Status();
    if (!waited && !o.no_deps) {
      RETURN_IF_ERROR(WaitForDependencies(g, p, s));
      waited = true;
    }
    progress << " Container " << c.id() << "  Starting\n";
    RETURN_IF_ERROR(StartDetached(g, c));
    progress << " Container " << c.id() << "  Started\n";
    return Status();
  };
  for (int n = 1; n <= s.replicas; n++) {
    auto it = have.find(n);
    bool recreated = false;
    if (it != have.end()) {
      const cov1::Container& c = it->second;
      if ((Label(c, kComposeConfigHash) == hash && !o.force_recreate) || o.no_recreate) {
        ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
        if (IsLive(task)) {
          progress << " Container " << c.id() << "  Running\n";
        } else {
          RETURN_IF_ERROR(start(c));
        }
        sources->push_back({c.id(), c.id(), Label(c, kLabelLogPath)});
        continue;
      }
      progress << " Container " << c.id() << "  Recreate\n";
      RETURN_IF_ERROR(StopAndRemove(g, c, o.timeout, progress));
      recreated = true;
    }
    ASSIGN_OR_RETURN(ServiceRun run, ServiceToRun(p, s, n, false));
    progress << " Container " << run.flags.name << "  Creating\n";
    ASSIGN_OR_RETURN(CreatedContainer made, CreateFromFlags(g, run.flags, run.args, progress));
    progress << " Container " << made.container.id() << (recreated ? "  Recreated\n" : "  Created\n");
    RETURN_IF_ERROR(start(made.container));
    sources->push_back({made.container.id(), made.container.id(), made.log_path});
  }
  for (const auto& c : extra) RETURN_IF_ERROR(StopAndRemove(g, c, o.timeout, progress));
  return Status();
}

const char* const kColors[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

}  // namespace

Status WaitForDependencies(const Globals& g, const compose::Project& p, const compose::Service& s) {
  for (const auto& [dep, d] : s.depends_on) {
    if (!p.services.count(dep) || d.condition == "service_started") continue;
    ASSIGN_OR_RETURN(std::vector<cov1::Container> all, ProjectContainers(g, p.name, false));
    std::vector<std::string> ids;
    for (const auto& c : all) {
      if (ServiceOf(c) == dep) ids.push_back(c.id());
    }
    if (ids.empty()) {
      if (!d.required) continue;
      return absl::FailedPreconditionError(StrCat("dependency ", dep, " of ", s.name, " has no container: start it first"));
    }
    for (const auto& id : ids) {
      std::cerr << " Container " << id << "  Waiting\n";
      for (;;) {
        ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, id));
        ASSIGN_OR_RETURN(ContainerStatus st, StateOf(g, c));
        if (d.condition == "service_healthy") {
          if (!c.labels().count(kLabelHealthConfig)) {
            return absl::FailedPreconditionError(
                StrCat("dependency failed to start: container ", id, " has no healthcheck configured"));
          }
          std::string h = Label(c, kLabelHealthStatus);
          if (h == "healthy") {
            std::cerr << " Container " << id << "  Healthy\n";
            break;
          }
          if (h == "unhealthy") return absl::FailedPreconditionError(StrCat("dependency failed to start: container ", id, " is unhealthy"));
          if (st.state == "exited") {
            return absl::FailedPreconditionError(
                StrCat("dependency failed to start: container ", id, " exited (", st.exit_code, ")"));
          }
        } else if (d.condition == "service_completed_successfully") {
          if (st.state == "exited") {
            if (st.exit_code != 0) {
              return absl::FailedPreconditionError(
                  StrCat("service \"", dep, "\" didn't complete successfully: exit ", st.exit_code));
            }
            std::cerr << " Container " << id << "  Exited\n";
            break;
          }
        } else {
          return absl::InvalidArgumentError(StrCat("unknown depends_on condition ", d.condition));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
  }
  return Status();
}

Status FollowLogs(const Globals& g, const std::vector<LogSource>& sources, bool follow, bool color, bool prefix,
                  int tail, const std::function<bool()>& stop) {
  struct Reader {
    LogSource src;
    UniqueFd fd;
    std::string partial;
    std::string lead;  // "name  | " (coloured)
    bool live = true;
  };
  size_t width = 0;
  for (const auto& s : sources) width = std::max(width, s.name.size());
  std::vector<Reader> readers;
  for (size_t i = 0; i < sources.size(); i++) {
    Reader r;
    r.src = sources[i];
    if (prefix) {
      std::string name = sources[i].name + std::string(width - sources[i].name.size(), ' ') + "  | ";
      r.lead = color ? StrCat("\033[", kColors[i % std::size(kColors)], "m", name, "\033[0m") : name;
    }
    readers.push_back(std::move(r));
  }
  auto emit = [](Reader& r, std::string_view data, bool flush) {
    r.partial.append(data);
    size_t start = 0;
    for (size_t nl; (nl = r.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::cout << r.lead;
      std::cout.write(r.partial.data() + start, static_cast<std::streamsize>(nl - start + 1));
    }
    r.partial.erase(0, start);
    if (flush && !r.partial.empty()) {
      std::cout << r.lead << r.partial << "\n";
      r.partial.clear();
    }
  };
  auto drain = [&](Reader& r, bool flush) -> Status {
    if (!r.fd) {
      r.fd.Reset(::open(r.src.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!r.fd) return errno == ENOENT ? Status() : ErrnoStatus(errno, StrCat("open ", r.src.path));
    }
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(r.fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, StrCat("read ", r.src.path));
      if (n == 0) break;
      emit(r, std::string_view(buf, static_cast<size_t>(n)), false);
    }
    if (flush) emit(r, "", true);
    return Status();
  };
  // The first pass: everything, or the last `tail` lines of each.
  for (auto& r : readers) {
    if (tail < 0) {
      RETURN_IF_ERROR(drain(r, !follow));
      continue;
    }
    std::string all;
    UniqueFd fd(::open(r.src.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
      char buf[64 * 1024];
      for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
    }
    std::vector<size_t> starts;  // where each line begins
    for (size_t i = 0; i < all.size();) {
      starts.push_back(i);
      size_t nl = all.find('\n', i);
      i = nl == std::string::npos ? all.size() : nl + 1;
    }
    size_t from = starts.size() > static_cast<size_t>(tail) ? starts[starts.size() - static_cast<size_t>(tail)] : 0;
    if (tail == 0) from = all.size();
    emit(r, std::string_view(all).substr(from), !follow);
    r.fd = std::move(fd);
  }
  std::cout.flush();
  if (!follow) return Status();
  for (int tick = 0;; tick++) {
    if (stop ? stop() : (std::this_thread::sleep_for(std::chrono::milliseconds(100)), false)) break;
    bool check = tick % 5 == 0;
    bool any_live = false;
    for (auto& r : readers) {
      if (!r.live) continue;
      if (check) {
        auto c = FindContainer(g, r.src.id);
        bool live = false;
        int code = -1;
        if (c.ok()) {
          auto task = GetTask(g, c->id());
          if (task.ok()) {
            live = IsLive(*task) || Label(*c, kRestartStatusLabel) == "running";
            code = StatusOf(*c, *task ? &**task : nullptr).exit_code;
          }
        }
        RETURN_IF_ERROR(drain(r, !live));
        if (!live) {
          r.live = false;
          std::cout << r.src.name << " exited with code " << code << "\n";
          continue;
        }
      } else {
        RETURN_IF_ERROR(drain(r, false));
      }
      any_live = true;
    }
    std::cout.flush();
    if (!any_live) break;
  }
  std::cout.flush();
  return Status();
}

int ComposeUp(const Globals& g, const compose::Project& p, const UpOptions& o) {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  if (!o.detach) {
    // Ours to wait for, even when the shell that started us ignores them (a background job).
    pthread_sigmask(SIG_BLOCK, &stops, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
  }
  std::ostream& progress = std::cerr;
  auto fail = [](const Status& s) {
    std::cerr << "berth compose: " << s.message() << "\n";
    return 1;
  };
  auto order = ServiceOrder(p, o.services, !o.no_deps);
  if (!order.ok()) return fail(order.status());
  if (Status s = EnsureProjectResources(g, p, progress); !s.ok()) return fail(s);
  auto existing = ProjectContainers(g, p.name, false);
  if (!existing.ok()) return fail(existing.status());
  std::vector<std::string> orphans;
  for (const auto& c : *existing) {
    if (p.services.count(ServiceOf(c))) continue;
    if (o.remove_orphans) {
      if (Status s = StopAndRemove(g, c, o.timeout, progress); !s.ok()) return fail(s);
    } else {
      orphans.push_back(c.id());
    }
  }
  if (!orphans.empty()) {
    progress << "berth compose: warning: found orphan containers (" << absl::StrJoin(orphans, ", ")
             << ") for this project; if you removed or renamed their service in the compose file, run this "
                "command with --remove-orphans to clean them up\n";
  }
  std::vector<LogSource> sources;
  for (const auto& name : *order) {
    if (Status s = UpService(g, p, p.services.at(name), *existing, o, &sources); !s.ok()) return fail(s);
  }
  if (o.detach || o.no_start) return 0;

  std::vector<std::string> names;
  for (const auto& s : sources) names.push_back(s.name);
  std::cout << "Attaching to " << absl::StrJoin(names, ", ") << "\n";
  bool interrupted = false;
  auto stop = [&] {
    timespec wait{0, 100'000'000};
    if (sigtimedwait(&stops, nullptr, &wait) > 0) interrupted = true;
    return interrupted;
  };
  Status s = FollowLogs(g, sources, true, isatty(1) != 0, true, -1, stop);
  if (!s.ok()) return fail(s);
  if (!interrupted) return 0;
  std::cout << "Gracefully stopping... (press Ctrl+C again to force)\n";
  pthread_sigmask(SIG_UNBLOCK, &stops, nullptr);
  for (auto it = sources.rbegin(); it != sources.rend(); ++it) {
    std::string id;
    progress << " Container " << it->id << "  Stopping\n";
    if (Status st = StopContainer(g, it->id, 0, o.timeout, &id); !st.ok()) {
      progress << "berth compose: " << it->id << ": " << st.message() << "\n";
      continue;
    }
    progress << " Container " << it->id << "  Stopped\n";
  }
  return 130;
}

int ComposeDown(const Globals& g, const compose::Project& p, const DownOptions& o) {
  std::ostream& progress = std::cerr;
  int rc = 0;
  auto report = [&](const Status& s) {
    if (s.ok()) return;
    std::cerr << "berth compose: " << s.message() << "\n";
    rc = 1;
  };
  auto containers = ProjectContainers(g, p.name, true);
  if (!containers.ok()) return report(containers.status()), 1;
  auto order = ServiceOrder(p, {}, true);
  if (!order.ok()) return report(order.status()), 1;
  std::vector<const cov1::Container*> doomed, orphans;
  for (const auto& c : *containers) {
    if (!p.services.count(ServiceOf(c))) (o.remove_orphans ? doomed : orphans).push_back(&c);
  }
  for (auto it = order->rbegin(); it != order->rend(); ++it) {
    for (const auto& c : *containers) {
      if (ServiceOf(c) == *it) doomed.push_back(&c);
    }
  }
  for (const auto* c : doomed) {
    std::string id;
    progress << " Container " << c->id() << "  Stopping\n";
    Status s = StopContainer(g, c->id(), 0, o.timeout, &id);
    if (s.ok()) s = RemoveContainer(g, *c, true, o.volumes);
    if (s.ok()) progress << " Container " << c->id() << "  Removed\n";
    report(s);
  }
  if (!orphans.empty()) {
    std::vector<std::string> ids;
    for (const auto* c : orphans) ids.push_back(c->id());
    progress << "berth compose: warning: found orphan containers (" << absl::StrJoin(ids, ", ")
             << ") for this project; run down with --remove-orphans to remove them too\n";
  }
  report(RemoveProjectNetworks(g, p, progress));
  if (o.volumes) {
    for (const auto& [key, v] : p.volumes) {
      if (v.external) continue;
      Status s = RemoveVolume(g, v.name);
      if (absl::IsNotFound(s)) continue;
      if (s.ok()) progress << " Volume " << v.name << "  Removed\n";
      report(s);
    }
  }
  return rc;
}

}  // namespace berth::cli
