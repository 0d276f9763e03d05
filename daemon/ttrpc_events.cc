#include "daemon/ttrpc_events.h"

#include <sys/stat.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "common/log.h"
#include "containerd/services/events/v1/events.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "daemon/services/events.h"

namespace berth::daemon {

Status TtrpcEventsServer::Start(const std::string& path) {
  server_ = std::make_unique<ttrpc::Server>(io_);
  server_->Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                    [this](const ttrpc::CallContext&, std::string payload, ttrpc::Responder done) {
                      containerd::services::events::ttrpc::v1::ForwardRequest req;
                      if (!req.ParseFromString(payload)) {
                        done(absl::InvalidArgumentError("cannot decode ForwardRequest"));
                        return;
                      }
                      // Same wire layout as the gRPC Envelope.
                      containerd::services::events::v1::Envelope env;
                      env.ParseFromString(req.envelope().SerializeAsString());
                      Status s = ForwardEnvelope(ex_, env);
                      if (!s.ok()) {
                        BLOG(Warn) << "ttrpc forward: " << s;
                        done(s);
                        return;
                      }
                      done(google::protobuf::Empty().SerializeAsString());
                    });
  RETURN_IF_ERROR(server_->Listen(path));
  chmod(path.c_str(), 0600);
  thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
  return Status();
}

void TtrpcEventsServer::Stop() {
  if (!thread_.joinable()) return;
  std::promise<void> closed;
  boost::asio::post(io_, [this, &closed] {
    server_->Close();
    closed.set_value();
  });
  closed.get_future().wait();
  io_.stop();
  thread_.join();
  server_.reset();
}

}  // namespace berth::daemon
