// Where the CLI keeps what berthd does not: under berthd's root (so one `--root` moves all of
// a host's state), per namespace.
//   <root>/volumes/<ns>/<name>/_data          named volumes (nerdctl keeps them under its data root)
//   <root>/containers/<ns>/<id>/{hosts,resolv.conf,hostname}   files bind-mounted into a container
// berthd's root is Globals::root when given, else asked of berthd: the parent of the content
// store's root, which berthd exports in Introspection.Plugins as containerd does; else
// /var/lib/berth.
#pragma once

#include <string>

#include "cmd/berth/commands.h"
#include "common/status.h"

namespace berth::cli {

// berthd's root (cached in g after the first call).
std::string DataRoot(const Globals& g);
std::string VolumesDir(const Globals& g);                        // <root>/volumes/<ns>
std::string ContainerDir(const Globals& g, const std::string& id);  // <root>/containers/<ns>/<id>

// The berth binary itself (/proc/self/exe), for the OCI hooks its containers run.
StatusOr<std::string> SelfExecutable();

// berth-init beside our own executable; NotFound when it is not there.
StatusOr<std::string> InitBinary();

}  // namespace berth::cli
