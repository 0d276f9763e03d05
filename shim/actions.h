// The three modes of containerd-shim-berth-v2 (see flags.h for the command lines):
//  - StartAction: computes the socket address, listens, writes <bundle>/address, re-executes
//    itself as the long-lived server (fd 3 = listening socket, own session, stdio /dev/null),
//    prints the address on stdout. If a live shim already answers on that socket it just prints
//    the address. Runtime options (an encoded Any of containerd.runc.v1.Options, possibly empty)
//    are read from stdin and saved as <bundle>/options.json for the server.
//  - DeleteAction: cleanup after a dead shim: runc delete --force, unmount <bundle>/rootfs,
//    print an encoded containerd.task.v2.DeleteResponse (the recorded exit from
//    <bundle>/exit.json if present, else exit_status 137 and now).
//  - Serve: the long-lived shim: logs to the bundle's `log` FIFO, subreaper, one Asio loop
//    serving containerd.task.v2.Task on fd 3 until Shutdown.
// Each returns the process exit code; only main() exits.
#pragma once

#include "shim/flags.h"

namespace berth::shim {

int StartAction(const Flags& flags, const char* self_exe);
int DeleteAction(const Flags& flags);
int Serve(const Flags& flags);

// Readiness handshake between `start` and the server it spawns: the server writes 'R' on
// fd kReadyFd (announced in env kReadyEnv) once it accepts calls; `start` waits up to 10 s.
inline constexpr int kReadyFd = 4;
inline constexpr char kReadyEnv[] = "BERTH_SHIM_READY_FD";

// The directory under which "s/<hash>" sockets live (containerd's default state dir).
inline constexpr char kSocketRoot[] = "/run/containerd";

}  // namespace berth::shim
