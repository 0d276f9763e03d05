#include "daemon/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/call_trace.h"

namespace berth::daemon {

Status Server::Start() {
  const std::string& path = d_.config.grpc_address;
  RETURN_IF_ERROR(MkdirAll(DirName(path), 0711));
  // We hold the root lock, so a socket left here is stale.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove stale socket " + path);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(d_.config.max_recv_message_size);
  builder.SetMaxSendMessageSize(d_.config.max_send_message_size);
  if (d_.config.max_concurrent_streams > 0)
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, d_.config.max_concurrent_streams);
  if (log::GetLevel() <= log::Level::kTrace) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(MakeCallTraceFactory());
    builder.experimental().SetInterceptorCreators(std::move(f));
  }
  services_ = MakeServices(d_);
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_) return absl::UnavailableError("cannot serve gRPC on " + path);

  if (::chmod(path.c_str(), 0660) != 0) return ErrnoStatus(errno, "chmod " + path);
  if (::chown(path.c_str(), 0, static_cast<gid_t>(d_.config.gid)) != 0 && geteuid() == 0)
    return ErrnoStatus(errno, "chown " + path);
  BLOG(Info) << "serving gRPC on " << path;
  return Status();
}

void Server::Shutdown(int grace_ms) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  server_->Wait();
  server_.reset();
}

void ArmStopDeadline(int limit_ms) {
  std::thread([limit_ms] {
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    struct timespec ts = {limit_ms / 1000, (limit_ms % 1000) * 1000000L};
    int sig;
    do {
      sig = sigtimedwait(&sigs, nullptr, &ts);
    } while (sig < 0 && errno == EINTR);  // (a rare EINTR restarts the full wait; good enough)
    if (sig > 0) {
      BLOG(Warn) << "received " << strsignal(sig) << " again, exiting now";
    } else {
      BLOG(Error) << "shutdown did not finish in " << limit_ms << " ms, exiting now";
    }
    ::_exit(1);
  }).detach();
}

}  // namespace berth::daemon
