// Running one CNI plugin: lookup in CNI_PATH, posix_spawn with stdin from a memfd (no SIGPIPE
// and no deadlock whatever the config's size), stdout/stderr through pipes read under a deadline,
// the plugin in its own process group so a timeout kills whatever it started too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "common/unique_fd.h"
#include "network/internal.h"

extern char** environ;

namespace berth::network::internal {
namespace {

using Clock = std::chrono::steady_clock;

// Captured output beyond this is read and dropped: a runaway plugin must not exhaust memory.
constexpr size_t kMaxOutput = 4 << 20;

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write plugin stdin");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

// A memfd holding `data`, positioned at 0, to be the plugin's stdin.
StatusOr<UniqueFd> StdinFile(std::string_view data) {
  UniqueFd fd(::memfd_create("cni-stdin", MFD_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "memfd_create");
  RETURN_IF_ERROR(WriteAll(fd.get(), data));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return ErrnoStatus(errno, "lseek plugin stdin");
  return fd;
}

// A pipe whose read end (non-blocking) stays here and whose write end goes to the plugin.
Status MakePipe(UniqueFd* r, UniqueFd* w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  r->Reset(p[0]);
  w->Reset(p[1]);
  int fl = ::fcntl(r->get(), F_GETFL);
  if (fl < 0 || ::fcntl(r->get(), F_SETFL, fl | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "fcntl O_NONBLOCK");
  }
  return Status();
}

std::vector<std::string> PluginEnv(const PluginRequest& req) {
  std::vector<std::string> env;
  bool has_path = false;
  for (char** e = environ; e != nullptr && *e != nullptr; e++) {
    std::string_view kv = *e;
    if (kv.substr(0, 4) == "CNI_") continue;  // ours below replace any inherited ones
    has_path |= kv.substr(0, 5) == "PATH=";
    env.emplace_back(kv);
  }
  // Plugins run iptables, ip6tables, ... from PATH.
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back("CNI_COMMAND=" + req.command);
  env.push_back("CNI_CONTAINERID=" + req.container_id);
  env.push_back("CNI_NETNS=" + req.netns);
  env.push_back("CNI_ARGS=" + req.args);
  env.push_back("CNI_IFNAME=" + req.ifname);
  env.push_back("CNI_PATH=" + req.cni_path);
  return env;
}

StatusOr<pid_t> Spawn(const std::string& path, std::vector<std::string> argv,
                      std::vector<std::string> env, int in, int out, int err) {
  std::vector<char*> cenv, cargv;
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  // Descriptors some other code opened without O_CLOEXEC do not reach the plugin either.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int rc = 0;
  // As libcni: a plugin binary being replaced ("text file busy") is retried for a few seconds.
  for (int attempt = 0; attempt < 5; attempt++) {
    rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, cargv.data(), cenv.data());
    if (rc != ETXTBSY) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, StrCat("exec ", path));
  return pid;
}

// Reads what is available; false once the pipe hit EOF (or failed).
bool Drain(int fd, std::string* out) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      size_t room = kMaxOutput > out->size() ? kMaxOutput - out->size() : 0;
      out->append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// The status of a plugin that exited non-zero, from its error document as libcni reads it.
Status PluginFailure(int wstatus, const std::string& out, const std::string& err) {
  std::string exit = WIFEXITED(wstatus)     ? StrCat("exit status ", WEXITSTATUS(wstatus))
                     : WIFSIGNALED(wstatus) ? StrCat("killed by signal ", WTERMSIG(wstatus))
                                            : std::string("failed");
  if (out.empty()) {
    if (Trim(err).empty()) {
      return absl::InternalError(StrCat("netplugin failed with no error message: ", exit));
    }
    return absl::InternalError(StrCat("netplugin failed: ", Trim(err)));
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("msg") || !j["msg"].is_string()) {
    return absl::InternalError(StrCat("netplugin failed (", exit,
                                      ") and its error is not a CNI error document: ", Trim(out)));
  }
  std::string msg = j["msg"].get<std::string>();
  if (auto d = j.find("details"); d != j.end() && d->is_string() && !d->get<std::string>().empty())
    msg += "; " + d->get<std::string>();
  if (auto c = j.find("code"); c != j.end() && c->is_number_integer()) {
    msg += StrCat(" (code ", c->get<int>(), ")");
  }
  return absl::InternalError(msg);
}

}  // namespace

StatusOr<std::string> FindPlugin(std::string_view type, const std::vector<std::string>& dirs) {
  if (type.empty() || type.find('/') != std::string_view::npos || type == "." || type == "..") {
    return absl::InvalidArgumentError(StrCat("invalid CNI plugin type '", type, "'"));
  }
  std::string searched;
  for (const auto& dir : dirs) {
    if (dir.empty()) continue;
    std::string path = StrCat(dir, "/", type);
    if (::access(path.c_str(), X_OK) == 0) return path;
    searched += searched.empty() ? dir : StrCat(" ", dir);
  }
  return absl::NotFoundError(
      StrCat("failed to find CNI plugin \"", type, "\" in path [", searched, "]"));
}

StatusOr<ProcessResult> RunProcess(const std::string& path, const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env, std::string_view stdin_data,
                                   std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(UniqueFd in, StdinFile(stdin_data));
  UniqueFd out_r, out_w, err_r, err_w;
  RETURN_IF_ERROR(MakePipe(&out_r, &out_w));
  RETURN_IF_ERROR(MakePipe(&err_r, &err_w));
  ASSIGN_OR_RETURN(pid_t pid, Spawn(path, argv, env, in.get(), out_w.get(), err_w.get()));
  in.Reset();
  out_w.Reset();
  err_w.Reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  const auto deadline = Clock::now() + timeout;
  std::string out, err;
  bool out_open = true, err_open = true, exited = false, timed_out = false;
  int wstatus = 0;
  while (!exited) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfds[3];
    int n = 0;
    if (out_open) pfds[n++] = {out_r.get(), POLLIN, 0};
    if (err_open) pfds[n++] = {err_r.get(), POLLIN, 0};
    if (pidfd) pfds[n++] = {pidfd.get(), POLLIN, 0};
    // Without a pidfd (kernels before 5.3) the exit is polled for every 50 ms.
    int wait_ms = pidfd ? static_cast<int>(left.count())
                        : static_cast<int>(std::min<int64_t>(left.count(), 50));
    if (::poll(pfds, n, wait_ms) < 0 && errno != EINTR) {
      int e = errno;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return ErrnoStatus(e, "poll plugin output");
    }
    if (out_open) out_open = Drain(out_r.get(), &out);
    if (err_open) err_open = Drain(err_r.get(), &err);
    pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) {
      exited = true;
    } else if (w < 0 && errno != EINTR) {
      return ErrnoStatus(errno, "waitpid plugin");
    }
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return absl::DeadlineExceededError(
        StrCat(path, " did not finish within ", timeout.count(), " ms and was killed"));
  }
  // Everything the plugin wrote before exiting is in the pipes; what a descendant still holding
  // them writes later is not waited for.
  if (out_open) Drain(out_r.get(), &out);
  if (err_open) Drain(err_r.get(), &err);
  return ProcessResult{wstatus, std::move(out), std::move(err)};
}

StatusOr<std::string> ExecPlugin(const PluginRequest& req) {
  auto r = RunProcess(req.path, {req.path}, PluginEnv(req), req.stdin_data, req.timeout);
  if (absl::IsDeadlineExceeded(r.status())) {
    return absl::DeadlineExceededError(StrCat("plugin ", req.path, " (", req.command,
                                              ") did not finish within ", req.timeout.count(),
                                              " ms and was killed"));
  }
  if (!r.ok()) return r.status();
  if (WIFEXITED(r->wstatus) && WEXITSTATUS(r->wstatus) == 0) return std::move(r->out);
  return PluginFailure(r->wstatus, r->out, r->err);
}

}  // namespace berth::network::internal
