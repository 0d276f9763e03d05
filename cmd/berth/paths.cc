#include "cmd/berth/paths.h"

#include <unistd.h>

#include <filesystem>

#include "containerd/services/introspection/v1/introspection.grpc.pb.h"

namespace berth::cli {

namespace isv1 = containerd::services::introspection::v1;

std::string DataRoot(const Globals& g) {
  if (!g.root.empty()) return g.root;
  std::string root = "/var/lib/berth";
  auto stub = isv1::Introspection::NewStub(Connect(g));
  auto ctx = NewContext(g);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  isv1::PluginsRequest req;
  req.add_filters("type==io.containerd.content.v1");
  isv1::PluginsResponse resp;
  if (stub->Plugins(ctx.get(), req, &resp).ok()) {
    for (const auto& p : resp.plugins()) {
      auto it = p.exports().find("root");
      if (it != p.exports().end() && !it->second.empty()) {
        root = std::filesystem::path(it->second).parent_path().string();
        break;
      }
    }
  }
  g.root = root;
  return root;
}

std::string VolumesDir(const Globals& g) { return DataRoot(g) + "/volumes/" + g.ns; }

std::string ContainerDir(const Globals& g, const std::string& id) {
  return DataRoot(g) + "/containers/" + g.ns + "/" + id;
}

StatusOr<std::string> SelfExecutable() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return absl::InternalError("readlink /proc/self/exe failed");
  return std::string(self, static_cast<size_t>(n));
}

StatusOr<std::string> InitBinary() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return absl::InternalError("readlink /proc/self/exe failed");
  auto path = std::filesystem::path(std::string(self, static_cast<size_t>(n))).parent_path() / "berth-init";
  if (::access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(StrCat("--init needs ", path.string(), ", installed with berth: reinstall berth"));
  }
  return path.string();
}

}  // namespace berth::cli
