// Fuzz target: berthd's TOML configuration (daemon/config.h). The input is a config file.
// Checks: nothing crashes or throws out of the parser; an accepted config renders to a file
// that parses back without notes and renders identically again (config dump is a fixed point).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::daemon;
  std::string text(reinterpret_cast<const char*>(data), size);
  Config cfg;
  std::vector<ConfigNote> notes;
  if (!ParseConfig(text, "fuzz.toml", &cfg, &notes).ok()) return 0;
  std::string rendered = RenderConfig(cfg, /*comments=*/false);
  Config again;
  std::vector<ConfigNote> notes2;
  berth::Status s = ParseConfig(rendered, "rendered.toml", &again, &notes2);
  FUZZ_CHECK(s.ok(), "rendered config does not parse: " + s.ToString() + "\n" + rendered);
  for (const auto& n : notes2) FUZZ_CHECK(false, "rendered config has a note: " + n.message + "\n" + rendered);
  std::string rendered2 = RenderConfig(again, /*comments=*/false);
  FUZZ_CHECK(rendered2 == rendered, "render is not a fixed point:\n" + rendered + "\n---\n" + rendered2);
  (void)RenderConfig(cfg, /*comments=*/true);
  return 0;
}
