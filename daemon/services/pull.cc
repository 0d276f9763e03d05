#include "daemon/services/pull.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <deque>
#include <mutex>

#include "daemon/call.h"
#include "daemon/puller.h"
#include "daemon/services/images.h"

namespace berth::daemon {

namespace bpv1 = berth::services::images::v1;

namespace {

class PullReactor final : public grpc::ServerWriteReactor<bpv1::PullProgress> {
 public:
  PullReactor(Daemon& d, grpc::CallbackServerContext* ctx, const bpv1::PullRequest* req) : d_(d), ctx_(ctx) {
    auto ns = RequireNamespace(ctx);
    if (!ns.ok()) {
      running_ = false;
      finish_sent_ = true;
      Finish(ToGrpcStatus(ns.status()));
      return;
    }
    preq_.ns = *ns;
    preq_.ref = req->ref();
    preq_.plain_http = req->plain_http();
    preq_.platform = req->platform();
    preq_.unpack = req->unpack();
    preq_.snapshotter = req->snapshotter();
    for (const auto& [k, v] : req->labels()) preq_.labels[k] = v;
    preq_.insecure_hosts.assign(req->insecure_hosts().begin(), req->insecure_hosts().end());
    preq_.username = req->username();
    preq_.password = req->password();
    preq_.ca_pem = req->ca_pem();
    boost::asio::post(*d_.pool, [this] { Run(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    if (!ok) {
      cancelled_ = true;
      queue_.clear();
    }
    PumpLocked();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    // The pull may still run on the pool; then Run() deletes the reactor when it ends.
    bool del;
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
      del = !running_;
    }
    if (del) delete this;
  }

 private:
  void Run() {
    PullEvents ev;
    ev.resolved = [this](const std::string& name, const std::string& digest,
                         const std::vector<images::Descriptor>& layers) {
      bpv1::PullProgress p;
      auto* r = p.mutable_resolved();
      r->set_name(name);
      r->set_digest(digest);
      for (const auto& l : layers) {
        auto* out = r->add_layers();
        out->set_media_type(l.media_type);
        out->set_digest(l.digest);
        out->set_size(l.size);
      }
      Enqueue(std::move(p));
    };
    ev.layer = [this](const std::string& digest, const std::string& status, int64_t off, int64_t total) {
      bpv1::PullProgress p;
      auto* l = p.mutable_layer();
      l->set_digest(digest);
      l->set_status(status);
      l->set_offset(off);
      l->set_total(total);
      Enqueue(std::move(p));
    };
    auto res = RunPull(d_, preq_, ev, [this] { return cancelled_.load(); });
    std::unique_lock<std::mutex> l(mu_);
    if (res.ok()) {
      bpv1::PullProgress p;
      ImageToProto(res->image, p.mutable_done()->mutable_image());
      p.mutable_done()->set_chain_id(res->chain_id);
      queue_.push_back(std::move(p));
      final_ = grpc::Status::OK;
    } else {
      final_ = ToGrpcStatus(res.status());
    }
    finished_ = true;
    running_ = false;
    PumpLocked();
    if (done_) {
      l.unlock();
      delete this;
    }
  }

  void Enqueue(bpv1::PullProgress p) {
    std::lock_guard<std::mutex> l(mu_);
    if (cancelled_) return;
    // Coalesce consecutive "downloading" updates of one layer so a slow client cannot pile up.
    if (!queue_.empty() && p.has_layer() && queue_.back().has_layer() &&
        queue_.back().layer().digest() == p.layer().digest() && queue_.back().layer().status() == "downloading" &&
        p.layer().status() == "downloading") {
      queue_.back() = std::move(p);
    } else {
      queue_.push_back(std::move(p));
    }
    PumpLocked();
  }

  void PumpLocked() {
    if (writing_ || finish_sent_) return;
    if (!queue_.empty() && !cancelled_) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
      return;
    }
    if (finished_) {
      finish_sent_ = true;
      Finish(cancelled_ && final_.ok() ? grpc::Status(grpc::StatusCode::CANCELLED, "cancelled") : final_);
    }
  }

  Daemon& d_;
  grpc::CallbackServerContext* ctx_;
  PullRequest preq_;
  std::mutex mu_;
  std::deque<bpv1::PullProgress> queue_;
  bpv1::PullProgress current_;
  bool writing_ = false;
  bool finished_ = false;
  bool finish_sent_ = false;
  bool running_ = true;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
  grpc::Status final_;
};

}  // namespace

grpc::ServerWriteReactor<bpv1::PullProgress>* PullService::Pull(grpc::CallbackServerContext* ctx,
                                                                const bpv1::PullRequest* req) {
  return new PullReactor(d_, ctx, req);
}

}  // namespace berth::daemon
