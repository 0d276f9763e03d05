// berth-apply-layer LAYER DIR: applies a layer file (tar, tar.gz or tar.zst) into DIR with
// berth's diff applier (delete-mode whiteouts, as for a bind target) and prints the elapsed
// milliseconds, the diffID and the uncompressed size. Used by bench/apply_layer.sh.
#include <fcntl.h>

#include <chrono>
#include <cstdio>

#include "diff/apply.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LAYER DIR\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  auto reader = berth::diff::FdReader(fd);
  auto t0 = std::chrono::steady_clock::now();
  auto r = berth::diff::ApplyToDir(*reader, argv[2], berth::diff::WhiteoutMode::kDelete);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  if (!r.ok()) {
    fprintf(stderr, "apply: %s\n", std::string(r.status().message()).c_str());
    return 1;
  }
  printf("%lld %s %lld\n", static_cast<long long>(ms), r->diff_id.str().c_str(), static_cast<long long>(r->size));
  return 0;
}
