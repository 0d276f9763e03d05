#include "daemon/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "common/fs.h"
#include "common/log.h"

namespace berth::daemon {
namespace {

constexpr char kCgroupRoot[] = "/sys/fs/cgroup";

bool IsEmptyFile(const std::string& path) {
  auto s = ReadFile(path);
  return s.ok() && s->find_first_not_of(" \n") == std::string::npos;
}

// Mount points of the v1 hierarchies (fstype "cgroup") from /proc/self/mountinfo.
StatusOr<std::vector<std::string>> V1Mounts() {
  ASSIGN_OR_RETURN(std::string info, ReadFile("/proc/self/mountinfo"));
  std::vector<std::string> out;
  std::istringstream lines(info);
  for (std::string line; std::getline(lines, line);) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream after(line.substr(dash + 3));
    std::string fstype;
    after >> fstype;
    if (fstype != "cgroup") continue;
    std::istringstream before(line.substr(0, dash));
    std::string id, parent, dev, root, mount;
    before >> id >> parent >> dev >> root >> mount;
    out.push_back(mount);
  }
  return out;
}

// Creates `rel` under the hierarchy at `mount`, level by level; a new cpuset level copies its
// parent's cpus and mems.
Status MakeLevels(const std::string& mount, const std::string& rel, bool cpuset) {
  std::string dir = mount;
  std::istringstream parts(rel);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    std::string parent = dir;
    dir = JoinPath(dir, part);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", dir));
    if (!cpuset) continue;
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
      std::string mine = JoinPath(dir, f);
      if (!IsEmptyFile(mine)) continue;
      ASSIGN_OR_RETURN(std::string value, ReadFile(JoinPath(parent, f)));
      RETURN_IF_ERROR(WriteFileInPlace(mine, value));
    }
  }
  return Status();
}

}  // namespace

Status JoinCgroup(const std::string& path, pid_t pid) {
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) return absl::InvalidArgumentError("cgroup path must not be empty");
  if (StrCat("/", rel, "/").find("/../") != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("cgroup path \"", path, "\" must not contain \"..\""));
  }
  std::string procs_line = std::to_string(pid);
  struct statfs fs;
  if (::statfs(kCgroupRoot, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
    RETURN_IF_ERROR(MakeLevels(kCgroupRoot, rel, false));
    return WriteFileInPlace(JoinPath(JoinPath(kCgroupRoot, rel), "cgroup.procs"), procs_line);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> mounts, V1Mounts());
  if (mounts.empty()) return absl::FailedPreconditionError("no cgroup hierarchy is mounted");
  for (const std::string& m : mounts) {
    bool cpuset = ::access(JoinPath(m, "cpuset.cpus").c_str(), F_OK) == 0;
    RETURN_IF_ERROR(MakeLevels(m, rel, cpuset));
    RETURN_IF_ERROR(WriteFileInPlace(JoinPath(JoinPath(m, rel), "cgroup.procs"), procs_line));
  }
  BLOG(Info) << "moved into cgroup " << path << " (" << mounts.size() << " v1 hierarchies)";
  return Status();
}

}  // namespace berth::daemon
