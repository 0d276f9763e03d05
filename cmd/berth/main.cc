// berth: the command line client of berthd. Global flags choose the socket and namespace;
// subcommands are dispatched from kCommands (commands.cc), one file each.
#include <cstdlib>

#include "cmd/berth/commands.h"

int main(int argc, char** argv) {
  berth::cli::Globals g;
  if (const char* a = std::getenv("BERTH_ADDRESS"); a && *a) g.address = a;
  if (const char* n = std::getenv("BERTH_NAMESPACE"); n && *n) g.ns = n;
  if (const char* f = std::getenv("BERTH_FIFO_DIR"); f && *f) g.fifo_dir = f;
  if (const char* l = std::getenv("BERTH_LOG_DIR"); l && *l) g.log_dir = l;
  if (const char* r = std::getenv("BERTH_ROOT"); r && *r) g.root = r;
  CLI::App app{"berth: client for berthd"};
  app.require_subcommand(1);
  app.add_option("-a,--address", g.address, "berthd socket (env BERTH_ADDRESS)");
  app.add_option("-n,--namespace", g.ns, "namespace (env BERTH_NAMESPACE)");
  app.add_option("--fifo-dir", g.fifo_dir, "directory for stdio FIFOs (env BERTH_FIFO_DIR)");
  app.add_option("--root", g.root, "berthd's root, where volumes and containers' files live (env BERTH_ROOT; default: asked of berthd)");
  app.add_option("--log-dir", g.log_dir, "directory for detached containers' logs (env BERTH_LOG_DIR)");
  for (size_t i = 0; i < berth::cli::kNumCommands; ++i) berth::cli::kCommands[i].setup(app, g);
  CLI11_PARSE(app, argc, argv);
  return g.exit_code;
}
