#include "shim/events.h"

#include <algorithm>

#include <time.h>

#include "common/log.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"

namespace berth::shim {

namespace {
constexpr size_t kMaxQueued = 128;
// With the delays below, about 22 s in all: longer than containerd's shim (~15 s), so an event
// survives a daemon restart (berthd SIGKILLed and started again by systemd).
constexpr int kMaxAttempts = 10;
constexpr int kMaxDelayMs = 4000;
constexpr auto kForwardTimeout = std::chrono::seconds(5);
}  // namespace

EventForwarder::EventForwarder(boost::asio::io_context& io, std::string address, std::string ns)
    : io_(io), address_(std::move(address)), ns_(std::move(ns)), retry_timer_(io) {}

void EventForwarder::Publish(const std::string& topic, const std::string& type_url,
                             const google::protobuf::MessageLite& event) {
  if (address_.empty()) return;
  containerd::services::events::ttrpc::v1::ForwardRequest req;
  auto* env = req.mutable_envelope();
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  env->mutable_timestamp()->set_seconds(ts.tv_sec);
  env->mutable_timestamp()->set_nanos(static_cast<int32_t>(ts.tv_nsec));
  env->set_namespace_(ns_);
  env->set_topic(topic);
  env->mutable_event()->set_type_url(type_url);
  env->mutable_event()->set_value(event.SerializeAsString());
  if (queue_.size() >= kMaxQueued) {
    BLOG(Warn) << "event queue full, dropping " << (sending_ ? "next" : "oldest") << " event";
    if (sending_ && queue_.size() > 1) queue_.erase(queue_.begin() + 1);
    else if (!sending_) queue_.pop_front();
  }
  queue_.push_back(Item{req.SerializeAsString(), 0});
  if (!sending_) SendNext();
}

void EventForwarder::SendNext() {
  if (queue_.empty()) {
    sending_ = false;
    return;
  }
  sending_ = true;
  if (!client_ || client_->closed()) {
    client_.reset();
    auto c = ttrpc::Client::ConnectOn(io_, address_);
    if (!c.ok()) {
      OnSent(c.status());
      return;
    }
    client_ = std::move(*c);
  }
  client_->CallAsync("containerd.services.events.ttrpc.v1.Events", "Forward",
                     queue_.front().payload, kForwardTimeout,
                     {{"containerd-namespace-ttrpc", ns_}},
                     [this](StatusOr<std::string> r) { OnSent(r.status()); });
}

void EventForwarder::OnSent(const Status& st) {
  if (st.ok()) {
    queue_.pop_front();
    SendNext();
    return;
  }
  Item& item = queue_.front();
  if (++item.attempts >= kMaxAttempts) {
    BLOG(Warn) << "dropping event after " << item.attempts << " attempts: " << st;
    queue_.pop_front();
    SendNext();
    return;
  }
  if (st.code() == absl::StatusCode::kDeadlineExceeded) client_.reset();
  retry_timer_.expires_after(std::chrono::milliseconds(std::min(100 << item.attempts, kMaxDelayMs)));
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) SendNext();
  });
}

}  // namespace berth::shim
