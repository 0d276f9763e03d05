// Serve: the long-lived mode of containerd-shim-berth-v2 (see actions.h).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "shim/actions.h"
#include "shim/events.h"
#include "shim/reaper.h"
#include "shim/service.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

namespace berth::shim {

int Serve(const Flags& flags) {
  // The daemon drains <bundle>/log; opening it write-only blocks until it has a reader, which
  // is the contract (containerd opens it before running `start`).
  int logfd = ::open("log", O_WRONLY | O_CLOEXEC);
  if (logfd >= 0) {
    ::dup2(logfd, 2);
    ::close(logfd);
  }
  log::SetFd(2);
  log::SetTag(StrCat("shim ", flags.ns, "/", flags.id));
  if (flags.debug) log::SetLevel(log::Level::kDebug);
  ::signal(SIGPIPE, SIG_IGN);

  char cwd[4096];
  std::string bundle = ::getcwd(cwd, sizeof(cwd)) ? cwd : ".";
  if (Status st = BecomeSubreaper(); !st.ok()) {
      BLOG(Warn) << st;
    }

  boost::asio::io_context io(1);
  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  EventForwarder events(io, ttrpc_address ? ttrpc_address : "", flags.ns);
  boost::asio::steady_timer exit_timer(io);
  bool exiting = false;
  std::string socket_path;
  if (StatusOr<std::string> addr = ReadFile(JoinPath(bundle, "address")); addr.ok()) {
    socket_path = ttrpc::SocketPathFromAddress(*addr);
  }
  auto exit_shim = [&] {
    if (exiting) return;
    exiting = true;
    // The socket goes first, before Shutdown is answered: a shim started next for the same
    // container (same address) must listen afresh, never find this dying one and reuse it.
    if (!socket_path.empty()) ::unlink(socket_path.c_str());
    // Let the Shutdown answer (and queued events) go out first.
    exit_timer.expires_after(std::chrono::milliseconds(50));
    exit_timer.async_wait([&](const boost::system::error_code&) { io.stop(); });
  };
  ServiceConfig cfg{flags.ns, flags.id, bundle};
  TaskService* svc = nullptr;
  auto reaper = Reaper::Create(io, [&svc](int pid, int code) {
    if (svc) svc->OnExit(pid, code);
  });
  if (!reaper.ok()) {
    BLOG(Error) << reaper.status();
    return 1;
  }
  Reaper* r = reaper->get();
  TaskService service(io, cfg, &events, exit_shim,
                      [&io, r](const std::vector<std::string>& argv, const SpawnOptions& o,
                               SpawnDone done) { SpawnAsync(io, *r, argv, o, std::move(done)); });
  svc = &service;
  ttrpc::Server server(io);
  service.Register(server);
  if (Status st = server.Serve(3); !st.ok()) {
    BLOG(Error) << "serve: " << st;
    return 1;
  }
  (*reaper)->Start();
  if (const char* fd = std::getenv(kReadyEnv)) {
    int rfd = std::atoi(fd);
    (void)!::write(rfd, "R", 1);
    ::close(rfd);
    ::unsetenv(kReadyEnv);
  }
  BLOG(Info) << "serving containerd.task.v2.Task, pid " << ::getpid();
  io.run();
  server.Close();
  BLOG(Info) << "shim exiting";
  return 0;
}

}  // namespace berth::shim
