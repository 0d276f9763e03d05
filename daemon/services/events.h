// Events service (containerd.services.events.v1.Events): Publish and Forward put envelopes on
// the daemon's exchange; Subscribe streams matching envelopes to the client.
//
// Subscribe is not scoped to the caller's namespace (containerd's behaviour); it filters only by
// the request's filters. Each subscriber has a bounded queue: a publisher never blocks on a slow
// subscriber, and a subscriber that falls more than kSubscriberQueue envelopes behind loses the
// overflow (logged).
#pragma once

#include "containerd/services/events/v1/events.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

inline constexpr size_t kSubscriberQueue = 1024;

class EventsService final : public containerd::services::events::v1::Events::CallbackService {
 public:
  explicit EventsService(Daemon& d) : d_(d) {}
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx,
                                    const containerd::services::events::v1::PublishRequest* req,
                                    google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* ctx,
                                    const containerd::services::events::v1::ForwardRequest* req,
                                    google::protobuf::Empty* resp) override;
  grpc::ServerWriteReactor<containerd::services::events::v1::Envelope>* Subscribe(
      grpc::CallbackServerContext* ctx, const containerd::services::events::v1::SubscribeRequest* req) override;

 private:
  Daemon& d_;
};

// Puts a forwarded envelope (from Events/Forward over gRPC or ttrpc) on the exchange as is.
// InvalidArgument for a bad topic or namespace.
Status ForwardEnvelope(events::Exchange& ex, const containerd::services::events::v1::Envelope& env);

}  // namespace berth::daemon
