// Fuzz target: a Tasks.Create request (containerd.services.tasks.v1.CreateTaskRequest) as a
// client sends it, through the checks and conversions berthd and the shim apply without running
// anything: the container id's validation, the effective runtime options (the client's Any
// completed by the configuration, for each kind of runtime), the shim's decoding of those
// options and its options.json round trip, and the split of the rootfs mounts' options.
// Checks: nothing crashes; decoded options survive the JSON round trip unchanged; mount data
// never carries a flag option.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/identifiers.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "daemon/config.h"
#include "shim/mount.h"
#include "shim/options.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  containerd::services::tasks::v1::CreateTaskRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)berth::ValidateIdentifier(req.container_id(), "container id");

  static const berth::daemon::Config* cfg = [] {
    auto* c = new berth::daemon::Config();
    // A configured default, so the "complete from the configuration" path runs too.
    berth::daemon::RuncOptions ro;
    ro.binary_name = "crun";
    ro.systemd_cgroup = true;
    c->runtimes[berth::daemon::kRuntimeRuncV2].options = ro;
    return c;
  }();
  std::optional<berth::daemon::RuntimeOptionsAny> sent;
  if (req.has_options()) sent = berth::daemon::RuntimeOptionsAny{req.options().type_url(), req.options().value()};
  for (const char* rt : {berth::daemon::kRuntimeRuncV2, berth::daemon::kRuntimeLinuxV1, "io.example.other"}) {
    auto eff = berth::daemon::EffectiveRuntimeOptions(*cfg, rt, sent);
    if (!eff) continue;
    auto o = berth::shim::OptionsFromAny(eff->type_url, eff->value);
    if (!o.ok()) continue;
    std::string json = berth::shim::OptionsToJson(*o);
    std::string json2 = berth::shim::OptionsToJson(berth::shim::OptionsFromJson(json));
    FUZZ_CHECK(json == json2, "options.json round trip changed:\n" + json + "\n" + json2);
  }
  for (const auto& m : req.rootfs()) {
    std::vector<std::string> opts(m.options().begin(), m.options().end());
    unsigned long flags = 0;
    std::string mdata;
    bool priv = false;
    berth::shim::ParseMountOptions(opts, &flags, &mdata, &priv);
    FUZZ_CHECK(mdata.find(",ro,") == std::string::npos && mdata != "ro", "flag option left in mount data: " + mdata);
  }
  return 0;
}
