// Connects the garbage collector to the stores whose backend objects it removes (blobs on disk,
// snapshots in each snapshotter) and to the events exchange (/content/delete). Called once by
// BuildDaemon after every store exists.
#pragma once

#include "daemon/daemon.h"

namespace berth::daemon {

void WireGarbageCollector(Daemon& d);

}  // namespace berth::daemon
