#include "cmd/berth/mounts.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>

#include "absl/strings/str_split.h"
#include "cmd/berth/units.h"
#include "cmd/berth/volumes.h"

extern char** environ;

namespace berth::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string> kPropagations = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};

// One mount as the flags describe it, before it is turned into OCI form.
struct MountSpec {
  std::string type;  // bind | volume | tmpfs
  std::string source, target;
  bool readonly = false, nocopy = false;
  std::string propagation = "rprivate";
  std::vector<std::string> tmpfs_options;
};

Status CheckTarget(const std::string& t, const std::string& flag) {
  if (t.empty() || t[0] != '/') return absl::InvalidArgumentError(StrCat(flag, ": the container path \"", t, "\" must be absolute"));
  if (t == "/") return absl::InvalidArgumentError(StrCat(flag, ": cannot mount over /"));
  return Status();
}

StatusOr<MountSpec> ParseVolumeFlag(const std::string& v) {
  std::vector<std::string> parts = absl::StrSplit(v, ':');
  MountSpec m;
  if (parts.size() == 1) {
    m.type = "volume";
    m.target = parts[0];
  } else if (parts.size() <= 3) {
    m.source = parts[0];
    m.target = parts[1];
    m.type = m.source[0] == '/' ? "bind" : "volume";
    if (m.source.empty()) return absl::InvalidArgumentError(StrCat("invalid -v \"", v, "\": empty source"));
    if (parts.size() == 3) {
      for (const auto& o : absl::StrSplit(parts[2], ',')) {
        std::string opt(o);
        if (opt == "ro") m.readonly = true;
        else if (opt == "rw" || opt == "z" || opt == "Z") continue;
        else if (opt == "nocopy") m.nocopy = true;
        else if (kPropagations.count(opt) && m.type == "bind") m.propagation = opt;
        else return absl::InvalidArgumentError(StrCat("invalid -v \"", v, "\": unknown option \"", opt, "\""));
      }
    }
  } else {
    return absl::InvalidArgumentError(StrCat("invalid -v \"", v, "\": want SRC:DEST[:OPTIONS]"));
  }
  RETURN_IF_ERROR(CheckTarget(m.target, "-v"));
  return m;
}

StatusOr<std::vector<std::string>> TmpfsOptions(const std::string& size, const std::string& mode) {
  std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
  if (!size.empty()) {
    ASSIGN_OR_RETURN(int64_t b, ParseBytes(size));
    opts.push_back(StrCat("size=", b));
  }
  if (!mode.empty()) {
    if (mode.find_first_not_of("01234567") != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("invalid tmpfs mode \"", mode, "\": octal digits"));
    }
    opts.push_back("mode=" + mode);
  }
  return opts;
}

StatusOr<MountSpec> ParseMountFlag(const std::string& v) {
  MountSpec m;
  std::string size, mode;
  bool has_type = false;
  for (const auto& kv : absl::StrSplit(v, ',')) {
    std::string item(kv);
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq), val = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "type") m.type = val, has_type = true;
    else if (key == "source" || key == "src") m.source = val;
    else if (key == "target" || key == "destination" || key == "dst") m.target = val;
    else if (key == "readonly" || key == "ro") m.readonly = val.empty() || val == "true" || val == "1";
    else if (key == "bind-propagation" && kPropagations.count(val)) m.propagation = val;
    else if (key == "volume-nocopy") m.nocopy = val.empty() || val == "true";
    else if (key == "tmpfs-size") size = val;
    else if (key == "tmpfs-mode") mode = val;
    else return absl::InvalidArgumentError(StrCat("invalid --mount \"", v, "\": unknown field \"", key, "\""));
  }
  if (!has_type) m.type = "volume";
  if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs") {
    return absl::InvalidArgumentError(StrCat("invalid --mount \"", v, "\": type is bind, volume or tmpfs"));
  }
  RETURN_IF_ERROR(CheckTarget(m.target, "--mount"));
  if (m.type == "bind") {
    if (m.source.empty() || m.source[0] != '/') {
      return absl::InvalidArgumentError(StrCat("invalid --mount \"", v, "\": a bind needs an absolute source"));
    }
    std::error_code ec;
    if (!fs::exists(m.source, ec)) {
      return absl::NotFoundError(StrCat("--mount: bind source path does not exist: ", m.source));
    }
  }
  if (m.type == "tmpfs") {
    if (!m.source.empty()) return absl::InvalidArgumentError(StrCat("invalid --mount \"", v, "\": tmpfs has no source"));
    ASSIGN_OR_RETURN(m.tmpfs_options, TmpfsOptions(size, mode));
  }
  return m;
}

StatusOr<MountSpec> ParseTmpfsFlag(const std::string& v) {
  MountSpec m;
  m.type = "tmpfs";
  size_t colon = v.find(':');
  m.target = v.substr(0, colon);
  RETURN_IF_ERROR(CheckTarget(m.target, "--tmpfs"));
  m.tmpfs_options = {"nosuid", "nodev", "noexec"};
  if (colon != std::string::npos) {
    for (const auto& o : absl::StrSplit(v.substr(colon + 1), ',')) {
      std::string opt(o);
      if (opt.rfind("size=", 0) == 0) {
        ASSIGN_OR_RETURN(int64_t b, ParseBytes(opt.substr(5)));
        opt = StrCat("size=", b);
      }
      if (opt == "exec") {
        std::erase(m.tmpfs_options, "noexec");
        continue;
      }
      if (!opt.empty()) m.tmpfs_options.push_back(opt);
    }
  }
  return m;
}

// The image's config.Volumes paths: anonymous volumes, unless a flag mounts something there.
std::vector<std::string> ImageVolumes(const std::string& config_json) {
  std::vector<std::string> out;
  try {
    auto j = json::parse(config_json);
    if (j.contains("config") && j["config"].is_object() && j["config"].contains("Volumes") &&
        j["config"]["Volumes"].is_object()) {
      for (const auto& [path, _] : j["config"]["Volumes"].items()) out.push_back(path);
    }
  } catch (const json::exception&) {
  }
  return out;
}

// cp -a SRC/. DST: the image's files at a volume's path, with owners, modes and links.
Status CopyUp(const std::string& src, const std::string& dst) {
  std::string from = src + "/.";
  const char* argv[] = {"cp", "-a", from.c_str(), dst.c_str(), nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, "cp", nullptr, nullptr, const_cast<char**>(argv), environ);
  if (rc != 0) return absl::InternalError(StrCat("run cp: ", strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(StrCat("copying the image's ", src, " into the volume failed"));
  }
  return Status();
}

}  // namespace

StatusOr<ResolvedMounts> ResolveMounts(const Globals& g, const ContainerFlags& f, const std::string& image_config_json,
                                       const std::vector<snapshotter::Mount>& rootfs, const std::string& scratch_dir) {
  std::vector<MountSpec> specs;
  for (const auto& v : f.volumes) {
    ASSIGN_OR_RETURN(MountSpec m, ParseVolumeFlag(v));
    specs.push_back(m);
  }
  for (const auto& v : f.mounts) {
    ASSIGN_OR_RETURN(MountSpec m, ParseMountFlag(v));
    specs.push_back(m);
  }
  for (const auto& v : f.tmpfs) {
    ASSIGN_OR_RETURN(MountSpec m, ParseTmpfsFlag(v));
    specs.push_back(m);
  }
  std::set<std::string> targets;
  for (const auto& m : specs) {
    std::string t = fs::path(m.target).lexically_normal().string();
    if (!targets.insert(t).second) return absl::InvalidArgumentError(StrCat("duplicate mount point: ", m.target));
  }
  for (const auto& path : ImageVolumes(image_config_json)) {
    std::string t = fs::path(path).lexically_normal().string();
    if (t.size() > 1 && t.back() == '/') t.pop_back();
    if (targets.insert(t).second) specs.push_back({"volume", "", t});
  }

  ResolvedMounts out;
  std::unique_ptr<snapshotter::TempMount> image_root;  // mounted on first copy-up
  for (auto& m : specs) {
    if (m.type == "tmpfs") {
      out.oci.push_back({{"destination", m.target}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", m.tmpfs_options}});
      continue;
    }
    std::string source = m.source;
    if (m.type == "volume") {
      if (source.empty()) {
        source = AnonymousVolumeName();
        out.anonymous.push_back(source);
      }
      bool created = false;
      std::map<std::string, std::string> labels;
      if (m.source.empty()) labels[kLabelVolumeAnonymous] = "true";
      ASSIGN_OR_RETURN(Volume vol, CreateVolume(g, source, labels, &created));
      std::error_code ec;
      bool empty = fs::is_empty(vol.mountpoint, ec);
      if (empty && !m.nocopy && !rootfs.empty()) {
        if (!image_root) {
          ASSIGN_OR_RETURN(image_root, snapshotter::TempMount::Create(rootfs, scratch_dir));
        }
        std::string inside = image_root->path() + m.target;
        if (fs::is_directory(inside, ec) && !fs::is_empty(inside, ec)) RETURN_IF_ERROR(CopyUp(inside, vol.mountpoint));
      }
      source = vol.mountpoint;
    } else {
      std::error_code ec;
      if (!fs::exists(source, ec)) {
        // -v makes a missing host directory, as docker does.
        fs::create_directories(source, ec);
        if (ec) return absl::InternalError(StrCat("-v: create ", source, ": ", ec.message()));
      }
    }
    std::vector<std::string> opts = {"rbind", m.propagation};
    if (m.readonly) opts.push_back("ro");
    out.oci.push_back({{"destination", m.target}, {"type", "bind"}, {"source", source}, {"options", opts}});
  }
  return out;
}

}  // namespace berth::cli
