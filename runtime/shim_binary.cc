#include "runtime/shim_binary.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "common/fs.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "containerd/runtime/v2/task/shim.pb.h"

extern char** environ;

namespace berth::runtime {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

int64_t MonoMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Runs argv with cwd, extra env, `input` on stdin, collecting stdout and stderr until the process
// exits (not until EOF: a daemonised grandchild may keep the pipes open). The child gets its own
// process group, an empty signal mask and default signal dispositions.
StatusOr<RunResult> Run(const std::vector<std::string>& argv, const std::string& cwd,
                        const std::vector<std::string>& extra_env, const std::string& input, int timeout_ms) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& x : extra_env) {
      if (kv.substr(0, kv.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1)) overridden = true;
    }
    if (!overridden) env_store.emplace_back(kv);
  }
  for (const auto& x : extra_env) env_store.push_back(x);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, StrCat("exec ", argv[0]));
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();

  // Small inputs (runc options) fit in the pipe buffer.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = write(in_w.get(), input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  in_w.Reset();

  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  RunResult res;
  auto drain = [](int fd, std::string& into) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return n == 0;  // true at EOF
      into.append(buf, static_cast<size_t>(n));
    }
  };
  int64_t deadline = MonoMs() + timeout_ms;
  bool out_eof = false, err_eof = false, exited = false;
  int wstatus = 0;
  while (!exited) {
    struct pollfd pfds[3];
    int n = 0;
    if (!out_eof) pfds[n++] = {out_r.get(), POLLIN, 0};
    if (!err_eof) pfds[n++] = {err_r.get(), POLLIN, 0};
    if (pidfd.valid()) pfds[n++] = {pidfd.get(), POLLIN, 0};
    int64_t left = deadline - MonoMs();
    if (left <= 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      return absl::DeadlineExceededError(StrCat(argv[0], " did not finish in ", timeout_ms, " ms: ", res.err));
    }
    poll(pfds, n, pidfd.valid() ? static_cast<int>(left) : 10);
    if (!out_eof) out_eof = drain(out_r.get(), res.out);
    if (!err_eof) err_eof = drain(err_r.get(), res.err);
    pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) exited = true;
  }
  drain(out_r.get(), res.out);
  drain(err_r.get(), res.err);
  res.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return res;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, e - b + 1);
}

bool IsExecutable(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

std::vector<std::string> BaseArgs(const std::string& binary, const Bundle& b, const ShimEnv& env) {
  return {binary, "-namespace", b.ns, "-address", env.grpc_address, "-publish-binary", env.self_exe, "-id", b.id};
}

}  // namespace

namespace {

// "io.containerd.<name>.<ver>" -> "containerd-shim-<name>-<ver>"; "" for a malformed name.
std::string BinaryNameOf(const std::string& runtime_name) {
  size_t last = runtime_name.rfind('.');
  if (last == std::string::npos || last == 0) return "";
  size_t prev = runtime_name.rfind('.', last - 1);
  std::string name = runtime_name.substr(prev == std::string::npos ? 0 : prev + 1,
                                         last - (prev == std::string::npos ? 0 : prev + 1));
  std::string ver = runtime_name.substr(last + 1);
  if (name.empty() || ver.empty()) return "";
  return StrCat("containerd-shim-", name, "-", ver);
}

}  // namespace

StatusOr<std::string> ResolveShimBinary(const std::string& runtime_name, const std::map<std::string, std::string>& shims,
                                        const std::string& self_exe, const std::string& path) {
  std::string binary;
  auto row = shims.find(runtime_name);
  if (row != shims.end() && !row->second.empty()) {
    binary = row->second;
  } else if (!runtime_name.empty() && runtime_name[0] == '/') {
    binary = runtime_name;
  } else {
    binary = BinaryNameOf(runtime_name);
    if (binary.empty() || runtime_name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("invalid runtime name \"", runtime_name,
                 "\": a runtime is named like io.containerd.runc.v2 or by the absolute path of its shim"));
    }
  }
  if (binary[0] == '/') {
    if (!IsExecutable(binary)) {
      return absl::NotFoundError(StrCat("runtime \"", runtime_name, "\": shim binary \"", binary, "\" not found"));
    }
    return binary;
  }
  if (binary.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("runtime \"", runtime_name, "\": shim \"", binary, "\" is neither a name nor an absolute path"));
  }
  size_t s = 0;
  while (s <= path.size()) {
    size_t c = path.find(':', s);
    if (c == std::string::npos) c = path.size();
    std::string dir = path.substr(s, c - s);
    s = c + 1;
    if (dir.empty() || dir[0] != '/') continue;  // never relative to the working directory
    std::string candidate = JoinPath(dir, binary);
    if (IsExecutable(candidate)) return candidate;
  }
  if (!self_exe.empty() && self_exe[0] == '/') {
    std::string beside = JoinPath(DirName(self_exe), binary);
    if (IsExecutable(beside)) return beside;
  }
  return absl::NotFoundError(StrCat("runtime \"", runtime_name, "\" binary not installed \"", binary,
                                    "\" (not in PATH nor beside ", self_exe, ")"));
}

StatusOr<std::string> ResolveShimBinary(const std::string& runtime_name, const std::map<std::string, std::string>& shims,
                                        const std::string& self_exe) {
  const char* path = getenv("PATH");
  return ResolveShimBinary(runtime_name, shims, self_exe,
                           path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

StatusOr<std::string> StartShim(const std::string& binary, const Bundle& b, const ShimEnv& env,
                                const std::string& options_any) {
  std::vector<std::string> argv = BaseArgs(binary, b, env);
  if (env.debug) argv.push_back("-debug");
  argv.push_back("start");
  ASSIGN_OR_RETURN(RunResult r, Run(argv, b.path, {"TTRPC_ADDRESS=" + env.ttrpc_address, "GOMAXPROCS=2"},
                                    options_any, 30000));
  if (r.exit_code != 0) {
    return absl::InternalError(
        StrCat("start shim ", binary, ": exit status ", r.exit_code, ": ", Trim(r.out + r.err)));
  }
  std::string address = Trim(r.out);
  if (address.empty()) return absl::InternalError(StrCat("start shim ", binary, ": no address printed: ", Trim(r.err)));
  return address;
}

StatusOr<ShimDeleteResult> RunShimDelete(const std::string& binary, const Bundle& b, const ShimEnv& env) {
  std::vector<std::string> argv = BaseArgs(binary, b, env);
  argv.insert(argv.end(), {"-bundle", b.path, "delete"});
  ASSIGN_OR_RETURN(RunResult r, Run(argv, b.path, {"TTRPC_ADDRESS=" + env.ttrpc_address}, "", 10000));
  if (r.exit_code != 0) {
    return absl::InternalError(StrCat("shim delete ", b.id, ": exit status ", r.exit_code, ": ", Trim(r.err)));
  }
  containerd::task::v2::DeleteResponse resp;
  if (!resp.ParseFromString(r.out)) return absl::InternalError(StrCat("shim delete ", b.id, ": undecodable output"));
  ShimDeleteResult out;
  out.pid = resp.pid();
  out.exit_status = resp.exit_status();
  if (resp.has_exited_at()) out.exited_at_ns = resp.exited_at().seconds() * 1000000000 + resp.exited_at().nanos();
  return out;
}

}  // namespace berth::runtime
