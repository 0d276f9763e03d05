#include "cri/pause_image.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/digest.h"
#include "images/manifest.h"

namespace berth::cri {

std::string TarOneFile(const std::string& name, const std::string& content, unsigned mode) {
  char h[512];
  memset(h, 0, sizeof h);
  snprintf(h, 100, "%s", name.c_str());
  snprintf(h + 100, 8, "%07o", mode);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(content.size()));
  snprintf(h + 136, 12, "%011o", 0);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  std::string out(h, sizeof h);
  out += content;
  out.append((512 - content.size() % 512) % 512, '\0');
  out.append(1024, '\0');
  return out;
}

StatusOr<BuiltImage> BuildPauseImage(const std::string& program) {
  if (program.empty()) return absl::InvalidArgumentError("the pause program is empty");
  BuiltImage b;
  b.layer = TarOneFile("pause", program, 0755);
  b.layer_digest = Sha256::Of(b.layer).str();
  b.diff_id = b.layer_digest;  // uncompressed
  nlohmann::ordered_json cfg = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"User", "65535:65535"}, {"Entrypoint", {"/pause"}}, {"WorkingDir", "/"}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {b.diff_id}}}},
      {"history", {{{"created_by", "berth built-in pause"}}}},
  };
#if defined(__aarch64__)
  cfg["architecture"] = "arm64";
#endif
  b.config = cfg.dump();
  b.config_digest = Sha256::Of(b.config).str();
  nlohmann::ordered_json m = {
      {"schemaVersion", 2},
      {"mediaType", images::kOciManifest},
      {"config", {{"mediaType", images::kOciConfig}, {"digest", b.config_digest}, {"size", b.config.size()}}},
      {"layers", {{{"mediaType", images::kOciLayer}, {"digest", b.layer_digest}, {"size", b.layer.size()}}}},
  };
  b.manifest = m.dump();
  b.manifest_digest = Sha256::Of(b.manifest).str();
  return b;
}

StatusOr<std::string> FindPauseProgram() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    if (access((dir + "berth-pause").c_str(), X_OK) == 0) return dir + "berth-pause";
  }
  const char* path = getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string d;
  while (std::getline(ss, d, ':')) {
    if (!d.empty() && access((d + "/berth-pause").c_str(), X_OK) == 0) return d + "/berth-pause";
  }
  return absl::NotFoundError("berth-pause not found next to berthd or in PATH");
}

}  // namespace berth::cri
