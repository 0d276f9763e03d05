#include "ttrpc/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/log.h"
#include "ttrpc/connection.h"
#include "ttrpc/frame.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

// One accepted connection: a read loop (header, then payload or skip) and a write queue with at
// most one async_write in flight. Owned by Server::conns_; Responders hold weak references.
class Connection : public FramedConnection<Connection>, public std::enable_shared_from_this<Connection> {
  friend class FramedConnection<Connection>;
 public:
  Connection(Server* server, stream::socket sock) : FramedConnection(std::move(sock)), server_(server) {}

  void Start() { ReadHeader(); }

  // Answers `stream_id` once; later answers for the same id are dropped. io thread only.
  void Answer(uint32_t stream_id, const StatusOr<std::string>& result) {
    if (closed_ || pending_.erase(stream_id) == 0) return;
    SendResponse(stream_id, result);
  }

  // Closes the socket; the read loop then ends. io thread only.
  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    sock_.shutdown(stream::socket::shutdown_both, ec);
    sock_.close(ec);
    Server* s = std::exchange(server_, nullptr);
    if (s) s->Remove(this);
  }

  void Detach() { server_ = nullptr; }
  void MarkPending(uint32_t id) { pending_.insert(id); }
  asio::any_io_executor executor() { return sock_.get_executor(); }

 private:
  void SendResponse(uint32_t stream_id, const StatusOr<std::string>& result) {
    ::ttrpc::Response resp;
    if (result.ok()) {
      resp.set_payload(*result);
    } else {
      StatusToProto(result.status(), resp.mutable_status());
    }
    std::string bytes = resp.SerializeAsString();
    if (Status st = CheckPayloadSize(bytes.size()); !st.ok()) {
      resp.Clear();
      StatusToProto(st, resp.mutable_status());
      bytes = resp.SerializeAsString();
    }
    Send(EncodeFrame(stream_id, kResponse, bytes));
  }

  bool IsClosed() const { return closed_; }
  void OnIoError() { Close(); }
  // An oversized request is answered ResourceExhausted once its bytes are skipped.
  void OnOversized(FrameHeader h) {
    if (h.type == kRequest) SendResponse(h.stream_id, CheckPayloadSize(h.length));
  }

  void OnFrame(FrameHeader h) {
    if (h.type != kRequest) {
      // ttrpc ignores unknown message types for forward compatibility.
      ReadHeader();
      return;
    }
    if (h.stream_id % 2 != 1) {
      SendResponse(h.stream_id, absl::InvalidArgumentError(
                                    "StreamID must be odd for client initiated streams"));
      ReadHeader();
      return;
    }
    if (pending_.count(h.stream_id)) {
      SendResponse(h.stream_id, absl::InvalidArgumentError(
                                    StrCat("stream id ", h.stream_id, " already in use")));
      ReadHeader();
      return;
    }
    std::string payload = std::move(payload_);
    payload_.clear();
    if (server_) server_->Dispatch(shared_from_this(), h.stream_id, std::move(payload));
    if (!closed_) ReadHeader();
  }

  Server* server_;
  bool closed_ = false;
  std::set<uint32_t> pending_;
};

void Responder::operator()(StatusOr<std::string> result) const {
  std::shared_ptr<Connection> c = conn_.lock();
  if (!c) return;
  asio::post(c->executor(), [c, id = stream_id_, r = std::move(result)]() { c->Answer(id, r); });
}

std::string CallContext::Get(std::string_view key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return v;
  }
  return "";
}

Server::Server(asio::io_context& io) : io_(io) {}

Server::~Server() { Close(); }

void Server::Register(const std::string& service, const std::string& method, Handler handler) {
  handlers_[{service, method}] = std::move(handler);
}

Status Server::Listen(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return absl::InvalidArgumentError(StrCat("socket path too long: ", path));
  }
  path.copy(addr.sun_path, path.size());
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoStatus(e, StrCat("bind ", path));
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoStatus(e, StrCat("listen ", path));
  }
  return Serve(fd);
}

Status Server::Serve(int listen_fd) {
  ::fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
  acceptor_ = std::make_unique<stream::acceptor>(io_);
  boost::system::error_code ec;
  acceptor_->assign(stream(), listen_fd, ec);
  if (ec) {
    ::close(listen_fd);
    return absl::InternalError(StrCat("adopt listening socket: ", ec.message()));
  }
  Accept();
  return absl::OkStatus();
}

void Server::Accept() {
  acceptor_->async_accept([this, alive = std::weak_ptr<bool>(alive_)](
                              const boost::system::error_code& ec, stream::socket sock) {
    if (alive.expired() || !acceptor_ || !acceptor_->is_open()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      BLOG(Warn) << "ttrpc accept: " << ec.message();
      Accept();
      return;
    }
    // Asio accepts without SOCK_CLOEXEC: keep the connection out of spawned children (runc).
    ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != ::geteuid()) {
      BLOG(Warn) << "ttrpc: dropping connection from uid " << cred.uid << " (not our uid)";
      boost::system::error_code ignored;
      sock.close(ignored);
      Accept();
      return;
    }
    auto conn = std::make_shared<Connection>(this, std::move(sock));
    conns_.insert(conn);
    conn->Start();
    Accept();
  });
}

void Server::Dispatch(const std::shared_ptr<Connection>& conn, uint32_t stream_id,
                      std::string payload) {
  conn->MarkPending(stream_id);
  ::ttrpc::Request req;
  if (!req.ParseFromString(payload)) {
    conn->Answer(stream_id, absl::InvalidArgumentError("ttrpc: cannot decode request"));
    return;
  }
  auto it = handlers_.find({req.service(), req.method()});
  if (it == handlers_.end()) {
    bool known = false;
    for (const auto& [key, h] : handlers_) known = known || key.first == req.service();
    conn->Answer(stream_id, absl::UnimplementedError(
                                known ? StrCat("method ", req.method(), " of service ",
                                               req.service(), " is not implemented")
                                      : StrCat("service ", req.service(), " is not implemented")));
    return;
  }
  CallContext ctx;
  ctx.service = req.service();
  ctx.method = req.method();
  ctx.timeout = std::chrono::nanoseconds(req.timeout_nano());
  for (const auto& kv : req.metadata()) ctx.metadata.emplace_back(kv.key(), kv.value());
  Handler& h = it->second;
  h(ctx, std::move(*req.mutable_payload()), Responder(conn, stream_id));
}

void Server::Remove(Connection* conn) {
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    if (it->get() == conn) {
      // Keep the connection alive until its pending handlers have run.
      asio::post(io_, [keep = *it]() {});
      conns_.erase(it);
      break;
    }
  }
  if (on_closed_) on_closed_();
}

void Server::Close() {
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
  }
  auto conns = std::move(conns_);
  conns_.clear();
  for (const auto& c : conns) {
    c->Detach();
    c->Close();
  }
}

}  // namespace berth::ttrpc
