#include "shim/mount.h"

#include <errno.h>
#include <sys/mount.h>

#include <map>

#include "common/log.h"

namespace berth::shim {

void ParseMountOptions(const std::vector<std::string>& options, unsigned long* flags,
                       std::string* data, bool* propagation_private) {
  static const std::map<std::string, std::pair<bool, unsigned long>> kFlags = {
      {"ro", {false, MS_RDONLY}},       {"rw", {true, MS_RDONLY}},
      {"nodev", {false, MS_NODEV}},     {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},   {"exec", {true, MS_NOEXEC}},
      {"nosuid", {false, MS_NOSUID}},   {"suid", {true, MS_NOSUID}},
      {"sync", {false, MS_SYNCHRONOUS}}, {"async", {true, MS_SYNCHRONOUS}},
      {"noatime", {false, MS_NOATIME}}, {"atime", {true, MS_NOATIME}},
      {"relatime", {false, MS_RELATIME}}, {"norelatime", {true, MS_RELATIME}},
      {"bind", {false, MS_BIND}},       {"rbind", {false, MS_BIND | MS_REC}},
      {"remount", {false, MS_REMOUNT}}, {"nodiratime", {false, MS_NODIRATIME}},
  };
  *flags = 0;
  data->clear();
  *propagation_private = false;
  for (const auto& o : options) {
    if (o == "private" || o == "rprivate") {
      *propagation_private = true;
      continue;
    }
    auto it = kFlags.find(o);
    if (it == kFlags.end()) {
      if (!data->empty()) *data += ',';
      *data += o;
    } else if (it->second.first) {
      *flags &= ~it->second.second;
    } else {
      *flags |= it->second.second;
    }
  }
}

Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target) {
  size_t done = 0;
  for (const auto& m : mounts) {
    unsigned long flags = 0;
    std::string data;
    bool priv = false;
    ParseMountOptions(m.options, &flags, &data, &priv);
    if (m.type == "bind" || m.type == "rbind") flags |= MS_BIND | (m.type == "rbind" ? MS_REC : 0);
    unsigned long first = flags & ~MS_RDONLY;
    if (!(flags & MS_BIND)) first = flags;
    int rc = ::mount(m.source.c_str(), target.c_str(), m.type.c_str(), first,
                     data.empty() ? nullptr : data.c_str());
    size_t mounted = done + (rc == 0 ? 1 : 0);
    // A read-only bind needs a remount to take the flag.
    if (rc == 0 && (flags & MS_BIND) && (flags & MS_RDONLY)) {
      rc = ::mount("", target.c_str(), "", flags | MS_REMOUNT, nullptr);
    }
    if (rc != 0) {
      int e = errno;
      for (size_t i = 0; i < mounted; i++) ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoStatus(e, StrCat("mount ", m.type, " ", m.source, " on ", target));
    }
    done++;
  }
  return absl::OkStatus();
}

Status UnmountAll(const std::string& target) {
  for (int i = 0; i < 64; i++) {
    if (::umount2(target.c_str(), 0) == 0) continue;
    int e = errno;
    if (e == EINVAL || e == ENOENT) return absl::OkStatus();  // not (or no longer) mounted
    if (e == EBUSY) {
      if (::umount2(target.c_str(), MNT_DETACH) == 0) continue;
      e = errno;
    }
    return ErrnoStatus(e, StrCat("unmount ", target));
  }
  return absl::InternalError(StrCat("unmount ", target, ": too many mounts"));
}

}  // namespace berth::shim
