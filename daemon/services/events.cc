#include "daemon/services/events.h"
#include "daemon/services/proto_time.h"

#include <deque>
#include <memory>
#include <mutex>

#include "common/identifiers.h"
#include "common/log.h"
#include "daemon/call.h"
#include "daemon/publish.h"

namespace berth::daemon {

namespace ev1 = containerd::services::events::v1;

namespace {

// One Subscribe stream. The exchange callback (publisher's thread) appends to a bounded queue
// and starts a write when none is in flight; OnWriteDone starts the next one. The callback holds
// the shared State, so it stays valid after the reactor is gone.
class SubscribeReactor final : public grpc::ServerWriteReactor<ev1::Envelope> {
 public:
  SubscribeReactor(events::Exchange& ex, Filter filter) : ex_(ex), state_(std::make_shared<State>()) {
    state_->reactor = this;
    std::weak_ptr<State> weak = state_;
    sub_id_ = ex_.Subscribe(std::move(filter), [weak](const events::Envelope& env) {
      auto st = weak.lock();
      if (st) st->Push(env);
    });
  }

  // Every reaction keeps its own reference to the state: gRPC may run OnDone (which deletes
  // this reactor) inline from Finish.
  void OnWriteDone(bool ok) override {
    std::shared_ptr<State> st = state_;
    std::lock_guard<std::recursive_mutex> l(st->mu);
    st->writing = false;
    if (!ok) {
      FinishLocked(*st, grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away"));
      return;
    }
    st->queue.pop_front();
    st->StartNextLocked();
  }

  void OnCancel() override {
    std::shared_ptr<State> st = state_;
    std::lock_guard<std::recursive_mutex> l(st->mu);
    FinishLocked(*st, grpc::Status(grpc::StatusCode::CANCELLED, "subscription cancelled"));
  }

  void OnDone() override {
    ex_.Unsubscribe(sub_id_);
    std::shared_ptr<State> st = state_;
    {
      std::lock_guard<std::recursive_mutex> l(st->mu);
      st->reactor = nullptr;
    }
    delete this;
  }

 private:
  struct State {
    std::recursive_mutex mu;
    SubscribeReactor* reactor = nullptr;  // null once done
    std::deque<ev1::Envelope> queue;      // front is being written when `writing`
    bool writing = false;
    bool finished = false;
    uint64_t dropped = 0;

    void Push(const events::Envelope& env) {
      std::lock_guard<std::recursive_mutex> l(mu);
      if (reactor == nullptr || finished) return;
      if (queue.size() >= kSubscriberQueue) {
        if (dropped++ % 100 == 0) {
          BLOG(Warn) << "events: slow subscriber, dropped " << dropped << " envelopes";
        }
        return;
      }
      ev1::Envelope& out = queue.emplace_back();
      ToTimestamp(env.timestamp_ns, out.mutable_timestamp());
      out.set_namespace_(env.ns);
      out.set_topic(env.topic);
      out.mutable_event()->set_type_url(env.type_url);
      out.mutable_event()->set_value(env.payload);
      StartNextLocked();
    }
    void StartNextLocked() {
      if (writing || finished || queue.empty() || reactor == nullptr) return;
      writing = true;
      reactor->StartWrite(&queue.front());
    }
  };

  void FinishLocked(State& st, const grpc::Status& s) {
    if (st.finished) return;
    st.finished = true;
    Finish(s);
  }

  events::Exchange& ex_;
  std::shared_ptr<State> state_;
  uint64_t sub_id_ = 0;
};

class FailedSubscribe final : public grpc::ServerWriteReactor<ev1::Envelope> {
 public:
  explicit FailedSubscribe(const Status& s) { Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

Status ForwardEnvelope(events::Exchange& ex, const ev1::Envelope& in) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(in.namespace_(), "namespace"), "envelope namespace"));
  RETURN_IF_ERROR(events::ValidateTopic(in.topic()));
  events::Envelope env;
  if (in.has_timestamp()) {
    env.timestamp_ns = in.timestamp().seconds() * 1000000000 + in.timestamp().nanos();
  }
  env.ns = in.namespace_();
  env.topic = in.topic();
  env.type_url = in.event().type_url();
  env.payload = in.event().value();
  env.event_field = EventFieldLookup(env.type_url, env.payload);
  ex.Publish(std::move(env));
  return Status();
}

grpc::ServerUnaryReactor* EventsService::Publish(grpc::CallbackServerContext* ctx, const ev1::PublishRequest* req,
                                                 google::protobuf::Empty*) {
  auto ns = RequireNamespace(ctx);
  if (!ns.ok()) return FinishNow(ctx, ns.status());
  Status s = events::ValidateTopic(req->topic());
  if (!s.ok()) return FinishNow(ctx, Annotate(s, "envelope topic"));
  events::Envelope env;
  env.ns = *ns;
  env.topic = req->topic();
  env.type_url = req->event().type_url();
  env.payload = req->event().value();
  env.event_field = EventFieldLookup(env.type_url, env.payload);
  d_.events->Publish(std::move(env));
  return FinishNow(ctx, Status());
}

grpc::ServerUnaryReactor* EventsService::Forward(grpc::CallbackServerContext* ctx, const ev1::ForwardRequest* req,
                                                 google::protobuf::Empty*) {
  return FinishNow(ctx, ForwardEnvelope(*d_.events, req->envelope()));
}

grpc::ServerWriteReactor<ev1::Envelope>* EventsService::Subscribe(grpc::CallbackServerContext* ctx,
                                                                  const ev1::SubscribeRequest* req) {
  auto filter = Filter::ParseAll({req->filters().begin(), req->filters().end()});
  if (!filter.ok()) return new FailedSubscribe(filter.status());
  return new SubscribeReactor(*d_.events, *std::move(filter));
}

}  // namespace berth::daemon
