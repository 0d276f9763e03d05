#include "snapshotter/mount.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/log.h"

namespace berth::snapshotter {
namespace {

struct Parsed {
  unsigned long flags = 0;
  bool bind = false;
  bool ro = false;
  std::string data;
};

Parsed ParseOptions(const Mount& m) {
  Parsed p;
  if (m.type == "bind" || m.type == "rbind") p.bind = true;
  if (m.type == "rbind") p.flags |= MS_REC;
  for (const auto& o : m.options) {
    if (o == "ro") {
      p.ro = true;
      p.flags |= MS_RDONLY;
    } else if (o == "rw") {
      p.ro = false;
      p.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    } else if (o == "bind") {
      p.bind = true;
    } else if (o == "rbind") {
      p.bind = true;
      p.flags |= MS_REC;
    } else if (o == "nosuid") {
      p.flags |= MS_NOSUID;
    } else if (o == "nodev") {
      p.flags |= MS_NODEV;
    } else if (o == "noexec") {
      p.flags |= MS_NOEXEC;
    } else if (o == "private" || o == "rprivate" || o == "defaults") {
      // propagation is left alone; defaults is a no-op
    } else {
      if (!p.data.empty()) p.data += ',';
      p.data += o;
    }
  }
  if (p.bind) p.flags |= MS_BIND;
  return p;
}

Status MountOne(const Mount& m, const std::string& target) {
  std::string dest = m.target.empty() ? target : target + "/" + m.target;
  Parsed p = ParseOptions(m);
  if (p.bind) {
    if (::mount(m.source.c_str(), dest.c_str(), nullptr, p.flags & (MS_BIND | MS_REC), nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("bind mount ", m.source, " on ", dest));
    }
    unsigned long remount = MS_BIND | MS_REMOUNT | (p.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (remount != (MS_BIND | MS_REMOUNT) && ::mount(nullptr, dest.c_str(), nullptr, remount, nullptr) != 0) {
      int err = errno;
      ::umount2(dest.c_str(), MNT_DETACH);
      return ErrnoStatus(err, StrCat("remount ", dest));
    }
    return Status();
  }
  if (::mount(m.source.c_str(), dest.c_str(), m.type.c_str(), p.flags, p.data.c_str()) != 0) {
    return ErrnoStatus(errno, StrCat("mount ", m.type, " ", m.source, " on ", dest, " (", p.data, ")"));
  }
  return Status();
}

}  // namespace

std::string MountOption(const Mount& m, const std::string& key) {
  std::string prefix = key + "=";
  for (const auto& o : m.options) {
    if (o.compare(0, prefix.size(), prefix) == 0) return o.substr(prefix.size());
  }
  return "";
}

bool HasOption(const Mount& m, const std::string& opt) {
  for (const auto& o : m.options) {
    if (o == opt) return true;
  }
  return false;
}

Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    Status s = MountOne(mounts[i], target);
    if (!s.ok()) {
      for (size_t j = i; j > 0; --j) {
        const Mount& m = mounts[j - 1];
        std::string dest = m.target.empty() ? target : target + "/" + m.target;
        ::umount2(dest.c_str(), MNT_DETACH);
      }
      return s;
    }
  }
  return Status();
}

Status UnmountAll(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    int err = errno;
    if (err == EINVAL || err == ENOENT) return Status();  // not (or no longer) a mount point
    if (err == EBUSY) {
      if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
      err = errno;
      if (err == EINVAL) return Status();
    }
    return ErrnoStatus(err, StrCat("unmount ", target));
  }
  return absl::InternalError(StrCat("unmount ", target, ": too many stacked mounts"));
}

StatusOr<std::unique_ptr<TempMount>> TempMount::Create(const std::vector<Mount>& mounts,
                                                       const std::string& parent_dir) {
  std::string tmpl = parent_dir + "/berth-mount-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, StrCat("mkdtemp in ", parent_dir));
  Status s = MountAll(mounts, tmpl);
  if (!s.ok()) {
    ::rmdir(tmpl.c_str());
    return s;
  }
  return std::unique_ptr<TempMount>(new TempMount(tmpl));
}

TempMount::~TempMount() {
  Status s = UnmountAll(path_);
  if (!s.ok()) {
    BLOG(Error) << "leaving mount point " << path_ << ": " << s.message();
    return;
  }
  if (::rmdir(path_.c_str()) != 0) {
    BLOG(Warn) << "rmdir " << path_ << ": " << strerror(errno);
  }
}

}  // namespace berth::snapshotter
