// containerd-shim-berth-v2: the shim v2 binary for runtime "io.containerd.berth.v2".
// All logic lives in shim/ (actions.h); main only parses the flags and picks the mode.
#include <iostream>
#include <string>
#include <vector>

#include "shim/actions.h"
#include "shim/flags.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = berth::shim::ParseFlags(args);
  if (!flags.ok()) {
    std::cerr << "containerd-shim-berth-v2: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->action == "start") return berth::shim::StartAction(*flags, argv[0]);
  if (flags->action == "delete") return berth::shim::DeleteAction(*flags);
  return berth::shim::Serve(*flags);
}
