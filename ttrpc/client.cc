#include "ttrpc/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <deque>
#include <future>
#include <mutex>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "ttrpc/connection.h"
#include "ttrpc/frame.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {
Status ClosedError() { return absl::UnavailableError("ttrpc: closed"); }
}  // namespace

// The connection and its call table. Every member is touched on the io thread only, except
// closed_ (atomic) and the close callbacks (mutex).
class ClientConn : public FramedConnection<ClientConn>, public std::enable_shared_from_this<ClientConn> {
  friend class FramedConnection<ClientConn>;
 public:
  ClientConn(asio::io_context& io, stream::socket sock) : FramedConnection(std::move(sock)), io_(io) {}

  void Start() { ReadHeader(); }

  uint64_t Call(std::string service, std::string method, std::string payload,
                std::chrono::nanoseconds timeout, Metadata md, Client::Callback done) {
    uint64_t handle = next_handle_.fetch_add(1);
    asio::post(io_, [self = shared_from_this(), handle, service = std::move(service),
                     method = std::move(method), payload = std::move(payload), timeout,
                     md = std::move(md), done = std::move(done)]() mutable {
      self->DoCall(handle, std::move(service), std::move(method), std::move(payload), timeout,
                   std::move(md), std::move(done));
    });
    return handle;
  }

  void Cancel(uint64_t handle) {
    asio::post(io_, [self = shared_from_this(), handle]() {
      auto it = self->by_handle_.find(handle);
      if (it == self->by_handle_.end()) return;  // answered, timed out or closed already
      self->Finish(it->second, absl::CancelledError("ttrpc: call cancelled"));
    });
  }

  void Close() {
    asio::post(io_, [self = shared_from_this()]() { self->DoClose(); });
  }

  bool closed() const { return closed_; }

  void OnClose(std::function<void()> cb) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!closed_) {
        on_close_.push_back(std::move(cb));
        return;
      }
    }
    asio::post(io_, std::move(cb));
  }

  void DoClose() {
    std::vector<std::function<void()>> cbs;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_) return;
      closed_ = true;
      cbs.swap(on_close_);
    }
    boost::system::error_code ec;
    sock_.shutdown(stream::socket::shutdown_both, ec);
    sock_.close(ec);
    auto pending = std::move(pending_);
    pending_.clear();
    by_handle_.clear();
    for (auto& [id, p] : pending) {
      if (p.timer) p.timer->cancel();
      p.done(ClosedError());
    }
    for (auto& cb : cbs) cb();
  }

 private:
  struct Pending {
    Client::Callback done;
    std::unique_ptr<asio::steady_timer> timer;
    uint64_t handle = 0;
  };

  void DoCall(uint64_t handle, std::string service, std::string method, std::string payload,
              std::chrono::nanoseconds timeout, Metadata md, Client::Callback done) {
    if (closed_) {
      done(ClosedError());
      return;
    }
    ::ttrpc::Request req;
    req.set_service(std::move(service));
    req.set_method(std::move(method));
    req.set_payload(std::move(payload));
    req.set_timeout_nano(timeout.count());
    for (auto& [k, v] : md) {
      auto* kv = req.add_metadata();
      kv->set_key(std::move(k));
      kv->set_value(std::move(v));
    }
    std::string bytes = req.SerializeAsString();
    if (Status st = CheckPayloadSize(bytes.size()); !st.ok()) {
      done(st);
      return;
    }
    uint32_t id = next_id_;
    next_id_ += 2;
    Pending p{std::move(done), nullptr, handle};
    if (timeout.count() > 0) {
      p.timer = std::make_unique<asio::steady_timer>(io_, timeout);
      p.timer->async_wait([w = weak_from_this(), id](const boost::system::error_code& ec) {
        auto self = w.lock();
        if (ec || !self) return;
        self->Finish(id, absl::DeadlineExceededError("ttrpc: call timed out"));
      });
    }
    pending_.emplace(id, std::move(p));
    by_handle_.emplace(handle, id);
    Send(EncodeFrame(id, kRequest, bytes));
  }

  void Finish(uint32_t id, StatusOr<std::string> result) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // already timed out or answered
    Pending p = std::move(it->second);
    pending_.erase(it);
    by_handle_.erase(p.handle);
    if (p.timer) p.timer->cancel();
    p.done(std::move(result));
  }

  bool IsClosed() const { return closed_; }
  void OnIoError() { DoClose(); }
  void OnOversized(FrameHeader h) {
    if (h.type == kResponse) Finish(h.stream_id, CheckPayloadSize(h.length));
  }

  void OnFrame(FrameHeader h) {
    if (h.type == kResponse) {
      ::ttrpc::Response resp;
      if (!resp.ParseFromString(payload_)) {
        Finish(h.stream_id, absl::InternalError("ttrpc: cannot decode response"));
      } else if (resp.has_status() && resp.status().code() != 0) {
        Finish(h.stream_id, StatusFromProto(resp.status()));
      } else {
        Finish(h.stream_id, std::move(*resp.mutable_payload()));
      }
    }
    payload_.clear();
    ReadHeader();
  }

  asio::io_context& io_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, Pending> pending_;
  std::map<uint64_t, uint32_t> by_handle_;  // CallAsync handle -> stream id of pending calls
  std::atomic<uint64_t> next_handle_{1};
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> on_close_;
};

std::string SocketPathFromAddress(std::string_view address) {
  constexpr std::string_view kPrefix = "unix://";
  if (address.substr(0, kPrefix.size()) == kPrefix) address.remove_prefix(kPrefix.size());
  return std::string(address);
}

namespace {

StatusOr<int> DialUnix(const std::string& address) {
  std::string path = SocketPathFromAddress(address);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(StrCat("ttrpc: bad socket address \"", address, "\""));
  }
  path.copy(addr.sun_path, path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    Status st = ErrnoStatus(e, StrCat("ttrpc: dial ", path));
    if (e == ECONNREFUSED) return absl::UnavailableError(st.message());
    return st;
  }
  return fd;
}

}  // namespace

StatusOr<std::unique_ptr<Client>> Client::ConnectOn(asio::io_context& io,
                                                   const std::string& address) {
  ASSIGN_OR_RETURN(int fd, DialUnix(address));
  stream::socket sock(io);
  boost::system::error_code ec;
  sock.assign(stream(), fd, ec);
  if (ec) {
    ::close(fd);
    return absl::InternalError(StrCat("ttrpc: adopt socket: ", ec.message()));
  }
  std::unique_ptr<Client> c(new Client());
  c->conn_ = std::make_shared<ClientConn>(io, std::move(sock));
  asio::post(io, [conn = c->conn_]() { conn->Start(); });
  return c;
}

StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& address) {
  auto io = std::make_unique<asio::io_context>(1);
  ASSIGN_OR_RETURN(std::unique_ptr<Client> c, ConnectOn(*io, address));
  c->own_io_ = std::move(io);
  c->thread_ = std::thread([io = c->own_io_.get()]() {
    auto guard = asio::make_work_guard(*io);
    io->run();
  });
  return c;
}

Client::~Client() {
  if (own_io_) {
    conn_->Close();
    own_io_->stop();  // the work guard would keep run() going otherwise
    thread_.join();
    // Callbacks still queued (answers of closed calls) run here, on this thread.
    own_io_->restart();
    own_io_->run();
    conn_.reset();
  } else if (conn_) {
    conn_->Close();
  }
}

uint64_t Client::CallAsync(std::string_view service, std::string_view method, std::string payload,
                           std::chrono::nanoseconds timeout, Metadata metadata, Callback done) {
  return conn_->Call(std::string(service), std::string(method), std::move(payload), timeout,
              std::move(metadata), std::move(done));
}

StatusOr<std::string> Client::Call(std::string_view service, std::string_view method,
                                   std::string payload, std::chrono::nanoseconds timeout,
                                   Metadata metadata) {
  if (!own_io_ || thread_.get_id() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError("ttrpc: blocking Call needs a Client with its own thread");
  }
  auto promise = std::make_shared<std::promise<StatusOr<std::string>>>();
  auto future = promise->get_future();
  CallAsync(service, method, std::move(payload), timeout, std::move(metadata),
            [promise](StatusOr<std::string> r) { promise->set_value(std::move(r)); });
  return future.get();
}

void Client::Cancel(uint64_t handle) { conn_->Cancel(handle); }
void Client::Close() { conn_->Close(); }
bool Client::closed() const { return conn_->closed(); }
void Client::OnClose(std::function<void()> cb) { conn_->OnClose(std::move(cb)); }

}  // namespace berth::ttrpc
