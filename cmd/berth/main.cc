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
  if (const char* c = std::getenv("BERTH_CNI_NETCONFPATH"); c && *c) g.cni_conf_dir = c;
  if (const char* c = std::getenv("BERTH_CNI_PATH"); c && *c) g.cni_path = c;
  if (const char* c = std::getenv("BERTH_CNI_CACHE_DIR"); c && *c) g.cni_cache_dir = c;
  if (const char* c = std::getenv("BERTH_CNI_IPAM_DIR"); c && *c) g.cni_ipam_dir = c;
  CLI::App app{"berth: client for berthd"};
  app.require_subcommand(1);
  app.add_option("-a,--address", g.address, "berthd socket (env BERTH_ADDRESS)");
  app.add_option("-n,--namespace", g.ns, "namespace (env BERTH_NAMESPACE)");
  app.add_option("--fifo-dir", g.fifo_dir, "directory for stdio FIFOs (env BERTH_FIFO_DIR)");
  app.add_option("--root", g.root, "berthd's root, where volumes and containers' files live (env BERTH_ROOT; default: asked of berthd)");
  app.add_option("--log-dir", g.log_dir, "directory for detached containers' logs (env BERTH_LOG_DIR)");
  app.add_option("--cni-netconfpath", g.cni_conf_dir, "directory of berth's CNI network configs (env BERTH_CNI_NETCONFPATH)");
  app.add_option("--cni-path", g.cni_path, "CNI plugin directories, ':'-separated (env BERTH_CNI_PATH)");
  app.add_option("--cni-cache-dir", g.cni_cache_dir, "CNI result cache (env BERTH_CNI_CACHE_DIR; default <root>/cni/cache)");
  app.add_option("--cni-ipam-dir", g.cni_ipam_dir, "host-local IPAM data of new networks (env BERTH_CNI_IPAM_DIR; default <root>/cni/ipam)");
  for (size_t i = 0; i < berth::cli::kNumCommands; ++i) berth::cli::kCommands[i].setup(app, g);
  CLI11_PARSE(app, argc, argv);
  return g.exit_code;
}
