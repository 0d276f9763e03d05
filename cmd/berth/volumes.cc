#include "cmd/berth/volumes.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cmd/berth/containers.h"
#include "cmd/berth/paths.h"
#include "common/fs.h"
#include "common/identifiers.h"

namespace berth::cli {
namespace {

namespace fs = std::filesystem;

std::string NowRfc3339() {
  time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}

StatusOr<Volume> Load(const Globals& g, const std::string& name) {
  Volume v;
  v.name = name;
  fs::path dir = fs::path(VolumesDir(g)) / name;
  v.mountpoint = (dir / "_data").string();
  std::error_code ec;
  if (!fs::is_directory(v.mountpoint, ec)) return absl::NotFoundError(StrCat("no such volume: ", name));
  std::ifstream in(dir / "volume.json");
  if (in) {
    try {
      auto j = nlohmann::json::parse(in);
      v.labels = j.value("Labels", std::map<std::string, std::string>{});
      v.created_at = j.value("CreatedAt", "");
    } catch (const nlohmann::json::exception&) {
      // A damaged volume.json loses only the labels.
    }
  }
  return v;
}

}  // namespace

std::string AnonymousVolumeName() { return NewContainerId(); }

StatusOr<Volume> CreateVolume(const Globals& g, const std::string& name, const std::map<std::string, std::string>& labels,
                              bool* created) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "volume name"));
  if (created) *created = false;
  auto existing = Load(g, name);
  if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
  fs::path dir = fs::path(VolumesDir(g)) / name;
  std::error_code ec;
  fs::create_directories(dir / "_data", ec);
  if (ec) return absl::InternalError(StrCat("create volume ", name, ": ", ec.message()));
  ::chmod((dir / "_data").c_str(), 0755);
  nlohmann::json j = {{"Labels", labels}, {"CreatedAt", NowRfc3339()}};
  RETURN_IF_ERROR(WriteFileAtomic((dir / "volume.json").string(), j.dump(), 0644));
  if (created) *created = true;
  return Load(g, name);
}

StatusOr<Volume> GetVolume(const Globals& g, const std::string& name) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "volume name"));
  return Load(g, name);
}

StatusOr<std::vector<Volume>> ListVolumes(const Globals& g) {
  std::vector<Volume> out;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(VolumesDir(g), ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto v = Load(g, n);
    if (v.ok()) out.push_back(*v);
  }
  return out;
}

StatusOr<std::map<std::string, std::set<std::string>>> VolumesInUse(const Globals& g) {
  const std::string prefix = VolumesDir(g) + "/";
  auto stub = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::ListContainersResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), cov1::ListContainersRequest(), &resp)));
  std::map<std::string, std::set<std::string>> out;
  for (const auto& c : resp.containers()) {
    try {
      auto spec = nlohmann::json::parse(c.spec().value());
      for (const auto& m : spec.value("mounts", nlohmann::json::array())) {
        std::string src = m.value("source", "");
        if (src.rfind(prefix, 0) != 0) continue;
        std::string rest = src.substr(prefix.size());
        out[rest.substr(0, rest.find('/'))].insert(c.id());
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out;
}

Status RemoveVolume(const Globals& g, const std::string& name) {
  ASSIGN_OR_RETURN(Volume v, GetVolume(g, name));
  ASSIGN_OR_RETURN(auto used, VolumesInUse(g));
  auto it = used.find(name);
  if (it != used.end()) {
    std::string users;
    for (const auto& c : it->second) users += (users.empty() ? "" : ", ") + ShortId(c);
    return absl::FailedPreconditionError(
        StrCat("volume ", name, " is in use by container ", users, ": remove the container first"));
  }
  std::error_code ec;
  fs::remove_all(fs::path(VolumesDir(g)) / name, ec);
  if (ec) return absl::InternalError(StrCat("remove volume ", name, ": ", ec.message()));
  return Status();
}

}  // namespace berth::cli
