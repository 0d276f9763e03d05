// Fuzz target: image JSON from a registry (images/manifest.h). The input is one blob, parsed as
// a manifest, an index and a config, its media type detected and its children listed. Checks:
// nothing crashes or throws; every accepted descriptor has a sha256 digest and a size >= 0; a
// blob whose type is detected lists children without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "images/manifest.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckDescriptor(const berth::images::Descriptor& d) {
  FUZZ_CHECK(d.digest.rfind("sha256:", 0) == 0 && d.digest.size() == 71, "accepted digest " + d.digest);
  FUZZ_CHECK(d.size >= 0, "negative size accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::images;
  std::string json(reinterpret_cast<const char*>(data), size);
  if (auto m = ParseManifest(json); m.ok()) {
    CheckDescriptor(m->config);
    for (const auto& l : m->layers) CheckDescriptor(l);
  }
  if (auto ix = ParseIndex(json); ix.ok()) {
    for (const auto& d : ix->manifests) {
      CheckDescriptor(d);
      if (d.platform) (void)FormatPlatform(*d.platform);
    }
  }
  if (auto c = ParseConfig(json); c.ok()) {
    for (const auto& id : c->diff_ids) FUZZ_CHECK(!id.empty(), "empty diff_id accepted");
  }
  if (auto mt = DetectMediaType(json); mt.ok()) {
    if (auto kids = Children(*mt, json); kids.ok()) {
      for (const auto& d : *kids) CheckDescriptor(d);
    }
  }
  for (const char* mt : {kOciManifest, kOciIndex, kDockerManifestList, kDockerSchema1, "text/plain"}) {
    (void)Children(mt, json);
  }
  return 0;
}
