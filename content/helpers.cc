// Shared helpers of content store implementations: filter adaptors and label updates.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>

#include "content/internal.h"
#include "content/store.h"

namespace berth::content {

std::optional<std::string> InfoField(const Info& info, const std::vector<std::string>& path) {
  if (path.empty()) return std::nullopt;
  if (path[0] == "digest") return info.digest.str();
  if (path[0] == "size") return std::to_string(info.size);
  if (path[0] == "labels") {
    if (path.size() < 2) return std::nullopt;
    std::string key = path[1];
    for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
    auto it = info.labels.find(key);
    if (it == info.labels.end()) return std::nullopt;
    return it->second;
  }
  return std::nullopt;
}

std::optional<std::string> StatusField(const IngestStatus& st, const std::vector<std::string>& path) {
  if (path.size() != 1) return std::nullopt;
  if (path[0] == "ref") return st.ref;
  if (path[0] == "expected" && !st.expected.empty()) return st.expected;
  if (path[0] == "offset") return std::to_string(st.offset);
  if (path[0] == "total") return std::to_string(st.total);
  return std::nullopt;
}

Status ValidateContentLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.empty()) return absl::InvalidArgumentError("label key must not be empty");
    if (k.size() + v.size() > 4096) {
      return absl::InvalidArgumentError(StrCat("label key and value greater than maximum size (4096 bytes), key: ",
                                               std::string_view(k).substr(0, 10)));
    }
  }
  return Status();
}

StatusOr<Labels> ApplyLabelUpdate(const Labels& current, const Labels& requested,
                                  const std::vector<std::string>& paths, std::string_view what) {
  Labels out = current;
  if (paths.empty()) {
    out = requested;
  }
  for (const auto& p : paths) {
    if (p == "labels") {
      out = requested;
    } else if (p.rfind("labels.", 0) == 0) {
      std::string key = p.substr(7);
      auto it = requested.find(key);
      if (it == requested.end() || it->second.empty()) {
        out.erase(key);
      } else {
        out[key] = it->second;
      }
    } else {
      return absl::InvalidArgumentError(StrCat("cannot update \"", p, "\" field on ", what));
    }
  }
  // An empty value is never stored (containerd drops it when writing labels).
  for (auto it = out.begin(); it != out.end();) it = it->second.empty() ? out.erase(it) : std::next(it);
  RETURN_IF_ERROR(ValidateContentLabels(out));
  return out;
}

const Digest& EmptyDigest() {
  static const Digest kEmpty = Sha256::Of("");
  return kEmpty;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status WriteIngestFile(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create " + tmp);
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus(errno, "write " + tmp);
      ::close(fd);
      return s;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, "close " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename " + tmp);
  return Status();
}

int64_t MtimeNanos(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace berth::content
