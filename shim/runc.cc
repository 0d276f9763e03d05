#include "shim/runc.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"

namespace berth::shim {

namespace {
size_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}
}  // namespace

Runner SyncRunner() {
  return [](const std::vector<std::string>& argv, const SpawnOptions& opts, SpawnDone done) {
    done(RunAndWait(argv, opts));
  };
}

std::vector<std::string> Runc::Base() const {
  std::vector<std::string> a = {g_.binary, "--root", g_.root, "--log", g_.log_json,
                                "--log-format", "json"};
  if (g_.systemd_cgroup) a.push_back("--systemd-cgroup");
  return a;
}

void Runc::Run(std::vector<std::string> args, const RuncStdio& stdio, bool capture,
               std::function<void(Status, std::string)> done) {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.stdin_fd = stdio.in;
  o.stdout_fd = stdio.out;
  o.stderr_fd = stdio.err;
  o.capture_stdout = capture;
  BLOG(Debug) << g_.binary << " " << args[0] << " " << args.back();
  size_t offset = FileSize(g_.log_json);
  std::string cmd = args[0];
  std::string log = g_.log_json, binary = g_.binary;
  runner_(argv, o, [done = std::move(done), offset, cmd, log, binary](StatusOr<SpawnResult> r) {
    if (!r.ok()) {
      done(absl::InternalError(StrCat(binary, " ", cmd, ": ", r.status().message())), "");
      return;
    }
    if (r->exit_code == 0) {
      done(absl::OkStatus(), std::move(r->out));
      return;
    }
    std::string msg;
    if (StatusOr<std::string> text = ReadFile(log); text.ok() && text->size() > offset) {
      msg = LastRuncError(text->substr(offset));
    }
    if (msg.empty()) msg = StrCat("exit status ", r->exit_code);
    std::string full = StrCat(binary, " ", cmd, " failed: ", msg);
    if (msg.find("does not exist") != std::string::npos ||
        msg.find("not found") != std::string::npos) {
      done(absl::NotFoundError(full), "");
      return;
    }
    done(absl::InternalError(full), "");
  });
}

namespace {
auto StatusOnly(Runc::Done done) {
  return [done = std::move(done)](Status st, std::string) { done(std::move(st)); };
}
}  // namespace

void Runc::Create(const std::string& id, const CreateOpts& o, Done done) {
  std::vector<std::string> a = {"create", "--bundle", o.bundle, "--pid-file", o.pid_file};
  if (!o.console_socket.empty()) a.insert(a.end(), {"--console-socket", o.console_socket});
  if (o.no_pivot) a.push_back("--no-pivot");
  if (o.no_new_keyring) a.push_back("--no-new-keyring");
  a.push_back(id);
  Run(std::move(a), o.stdio, false, StatusOnly(std::move(done)));
}

void Runc::Start(const std::string& id, Done done) {
  Run({"start", id}, {}, false, StatusOnly(std::move(done)));
}

void Runc::Exec(const std::string& id, const std::string& process_json,
                const std::string& pid_file, const std::string& console_socket,
                const RuncStdio& stdio, Done done) {
  std::vector<std::string> a = {"exec", "--detach", "--process", process_json, "--pid-file",
                                pid_file};
  if (!console_socket.empty()) a.insert(a.end(), {"--console-socket", console_socket});
  a.push_back(id);
  Run(std::move(a), stdio, false, StatusOnly(std::move(done)));
}

void Runc::Kill(const std::string& id, int signal, bool all, Done done) {
  std::vector<std::string> a = {"kill"};
  if (all) a.push_back("--all");
  a.push_back(id);
  a.push_back(std::to_string(signal));
  Run(std::move(a), {}, false, StatusOnly(std::move(done)));
}

void Runc::Delete(const std::string& id, bool force, Done done) {
  std::vector<std::string> a = {"delete"};
  if (force) a.push_back("--force");
  a.push_back(id);
  Run(std::move(a), {}, false, StatusOnly(std::move(done)));
}

void Runc::Pause(const std::string& id, Done done) {
  Run({"pause", id}, {}, false, StatusOnly(std::move(done)));
}

void Runc::Resume(const std::string& id, Done done) {
  Run({"resume", id}, {}, false, StatusOnly(std::move(done)));
}

void Runc::Ps(const std::string& id, std::function<void(StatusOr<std::vector<int>>)> done) {
  Run({"ps", "--format", "json", id}, {}, true,
      [done = std::move(done)](Status st, std::string out) {
        if (!st.ok()) {
          done(st);
          return;
        }
        done(ParsePidList(out));
      });
}

void Runc::Update(const std::string& id, const std::string& resources_json, Done done) {
  Run({"update", "--resources", resources_json, id}, {}, false, StatusOnly(std::move(done)));
}

Status KillError(const Status& st) {
  if (st.ok()) return st;
  std::string m(st.message());
  std::string lower = m;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (m.find("os: process already finished") != std::string::npos ||
      m.find("container not running") != std::string::npos ||
      lower.find("no such process") != std::string::npos ||
      lower.find("not running") != std::string::npos) {
    return absl::NotFoundError(StrCat("process already finished: ", m));
  }
  if (m.find("does not exist") != std::string::npos) {
    return absl::NotFoundError(StrCat("no such container: ", m));
  }
  return st;
}

std::string LastRuncError(const std::string& log_text) {
  std::string last;
  size_t pos = 0;
  while (pos < log_text.size()) {
    size_t nl = log_text.find('\n', pos);
    if (nl == std::string::npos) nl = log_text.size();
    std::string line = log_text.substr(pos, nl - pos);
    pos = nl + 1;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    auto lvl = j.find("level");
    auto msg = j.find("msg");
    if (lvl != j.end() && msg != j.end() && lvl->is_string() && msg->is_string() &&
        (*lvl == "error" || *lvl == "fatal")) {
      last = msg->get<std::string>();
    }
  }
  return last;
}

StatusOr<std::vector<int>> ParsePidList(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  std::vector<int> pids;
  if (j.is_null()) return pids;
  if (!j.is_array()) return absl::InvalidArgumentError("runc ps: output is not a JSON array");
  for (const auto& v : j) {
    if (!v.is_number_integer()) return absl::InvalidArgumentError("runc ps: non-integer pid");
    pids.push_back(v.get<int>());
  }
  return pids;
}

}  // namespace berth::shim
