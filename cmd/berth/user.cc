#include "cmd/berth/user.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_split.h"

namespace berth::cli {
namespace {

bool IsNumber(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// The lines of a colon-separated database (passwd, group) split into fields.
std::vector<std::vector<std::string>> ReadDb(const std::string& path) {
  std::vector<std::vector<std::string>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(absl::StrSplit(line, ':'));
  }
  return out;
}

}  // namespace

StatusOr<ResolvedUser> ResolveUser(const std::string& user, const std::vector<snapshotter::Mount>& rootfs,
                                   const std::string& mount_dir) {
  size_t colon = user.find(':');
  std::string u = user.substr(0, colon), gr = colon == std::string::npos ? "" : user.substr(colon + 1);
  if (u.empty()) u = "0";
  ResolvedUser out;
  if (u == "root") u = "0";
  if (IsNumber(u) && IsNumber(gr)) {
    out.ids = StrCat(u, ":", gr);
    return out;
  }
  std::error_code ec;
  std::filesystem::create_directories(mount_dir, ec);
  ASSIGN_OR_RETURN(auto m, snapshotter::TempMount::Create(rootfs, mount_dir));
  auto passwd = ReadDb(m->path() + "/etc/passwd");
  auto group = ReadDb(m->path() + "/etc/group");
  std::string uid, gid, name;
  for (const auto& p : passwd) {
    if (p.size() < 4) continue;
    if ((IsNumber(u) && p[2] == u) || p[0] == u) {
      name = p[0], uid = p[2], gid = p[3];
      break;
    }
  }
  if (uid.empty()) {
    if (!IsNumber(u)) return absl::NotFoundError(StrCat("user \"", u, "\": not in the image's /etc/passwd"));
    uid = u, gid = "0";
  }
  if (!gr.empty()) {
    if (IsNumber(gr)) {
      gid = gr;
    } else {
      gid.clear();
      for (const auto& g : group) {
        if (g.size() >= 3 && g[0] == gr) gid = g[2];
      }
      if (gid.empty()) return absl::NotFoundError(StrCat("group \"", gr, "\": not in the image's /etc/group"));
    }
  }
  if (!name.empty()) {
    for (const auto& g : group) {
      if (g.size() < 4 || !IsNumber(g[2]) || g[2] == gid) continue;
      for (const auto& member : absl::StrSplit(g[3], ',')) {
        if (member == name) out.additional_gids.push_back(static_cast<uint32_t>(std::stoul(g[2])));
      }
    }
  }
  out.ids = StrCat(uid, ":", gid);
  return out;
}

}  // namespace berth::cli
