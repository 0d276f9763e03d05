#include "shim/runc.h"

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "shim/spawn.h"

namespace berth::shim {

std::vector<std::string> Runc::Base() const {
  std::vector<std::string> a = {binary_, "--root", root_, "--log", log_, "--log-format", "json"};
  if (systemd_cgroup_) a.push_back("--systemd-cgroup");
  return a;
}

Status Runc::Run(std::vector<std::string> args, const RuncStdio& stdio, std::string* out) {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.stdin_fd = stdio.in;
  o.stdout_fd = stdio.out;
  o.stderr_fd = stdio.err;
  o.capture_stdout = out != nullptr;
  BLOG(Debug) << "runc " << args[0] << " " << args.back();
  StatusOr<std::string> before = ReadFile(log_);
  size_t offset = before.ok() ? before->size() : 0;
  ASSIGN_OR_RETURN(SpawnResult r, RunAndWait(argv, o));
  if (out) *out = std::move(r.out);
  if (r.exit_code == 0) return absl::OkStatus();
  std::string msg;
  if (StatusOr<std::string> text = ReadFile(log_); text.ok() && text->size() > offset) {
    msg = LastRuncError(text->substr(offset));
  }
  if (msg.empty()) msg = StrCat("exit status ", r.exit_code);
  std::string full = StrCat("runc ", args[0], " failed: ", msg);
  if (msg.find("does not exist") != std::string::npos ||
      msg.find("not found") != std::string::npos) {
    return absl::NotFoundError(full);
  }
  return absl::InternalError(full);
}

Status Runc::Create(const std::string& id, const std::string& bundle, const std::string& pid_file,
                    const std::string& console_socket, bool no_pivot, bool no_new_keyring,
                    const RuncStdio& stdio) {
  std::vector<std::string> a = {"create", "--bundle", bundle, "--pid-file", pid_file};
  if (!console_socket.empty()) a.insert(a.end(), {"--console-socket", console_socket});
  if (no_pivot) a.push_back("--no-pivot");
  if (no_new_keyring) a.push_back("--no-new-keyring");
  a.push_back(id);
  return Run(std::move(a), stdio);
}

Status Runc::Start(const std::string& id) { return Run({"start", id}, {}); }

Status Runc::Exec(const std::string& id, const std::string& process_json,
                  const std::string& pid_file, const std::string& console_socket,
                  const RuncStdio& stdio) {
  std::vector<std::string> a = {"exec", "--detach", "--process", process_json, "--pid-file",
                                pid_file};
  if (!console_socket.empty()) a.insert(a.end(), {"--console-socket", console_socket});
  a.push_back(id);
  return Run(std::move(a), stdio);
}

Status Runc::Kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> a = {"kill"};
  if (all) a.push_back("--all");
  a.push_back(id);
  a.push_back(std::to_string(signal));
  return Run(std::move(a), {});
}

Status Runc::Delete(const std::string& id, bool force) {
  std::vector<std::string> a = {"delete"};
  if (force) a.push_back("--force");
  a.push_back(id);
  return Run(std::move(a), {});
}

Status Runc::Pause(const std::string& id) { return Run({"pause", id}, {}); }
Status Runc::Resume(const std::string& id) { return Run({"resume", id}, {}); }

StatusOr<std::vector<int>> Runc::Ps(const std::string& id) {
  std::string out;
  RETURN_IF_ERROR(Run({"ps", "--format", "json", id}, {}, &out));
  return ParsePidList(out);
}

Status Runc::Update(const std::string& id, const std::string& resources_json) {
  return Run({"update", "--resources", resources_json, id}, {});
}

std::string Runc::LastError() const {
  StatusOr<std::string> text = ReadFile(log_);
  if (!text.ok()) return "";
  return LastRuncError(*text);
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
