// ttrpc server on Boost.Asio over unix sockets.
//
// A Server accepts connections on a listening unix socket and dispatches each request frame to
// the handler registered for its (service, method). Handlers run on the io_context's thread and
// must not block: each gets a Responder it may complete later, from any thread (a Wait handler
// keeps its Responder until the process exits while State/Kill on the same connection are
// answered meanwhile). Unknown service/method -> Unimplemented; even stream ids ->
// InvalidArgument; payloads above 4 MiB -> ResourceExhausted; undecodable requests ->
// InvalidArgument. Peers whose SO_PEERCRED uid differs from our effective uid are dropped
// right after accept.
//
// Lifecycle: construct with an io_context, Register() handlers, then Listen()/Serve(); Close()
// stops accepting and drops every connection (pending Responders become no-ops). All methods
// except Responder::operator() must be called on the io_context's thread (the io_context may
// be run by one thread only).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "common/status.h"

namespace berth::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

class Connection;

// Completes one call. Copyable; the first invocation sends the answer, later ones are ignored.
// Safe to call from any thread; a no-op once the connection is gone.
class Responder {
 public:
  Responder() = default;
  Responder(std::weak_ptr<Connection> conn, uint32_t stream_id)
      : conn_(std::move(conn)), stream_id_(stream_id) {}
  // Sends `payload` (the encoded response message) or the error status.
  void operator()(StatusOr<std::string> result) const;
  uint32_t stream_id() const { return stream_id_; }

 private:
  std::weak_ptr<Connection> conn_;
  uint32_t stream_id_ = 0;
};

struct CallContext {
  std::string service;
  std::string method;
  Metadata metadata;
  // Zero when the client set no timeout.
  std::chrono::nanoseconds timeout{0};
  // Value of the first metadata entry named `key`, or "" when absent.
  std::string Get(std::string_view key) const;
};

using Handler = std::function<void(const CallContext& ctx, std::string payload, Responder done)>;

class Server {
 public:
  explicit Server(boost::asio::io_context& io);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers the handler for `service`/`method`, replacing any earlier one.
  void Register(const std::string& service, const std::string& method, Handler handler);

  // Binds and listens on the unix socket `path` (an existing socket file is replaced) and starts
  // accepting. Errors from socket(2)/bind(2)/listen(2) as ErrnoStatus.
  Status Listen(const std::string& path);
  // Starts accepting on an already listening unix socket fd (ownership taken), e.g. fd 3
  // inherited from the shim's start action.
  Status Serve(int listen_fd);
  // Stops accepting and closes every connection.
  void Close();

  // Connections currently open.
  size_t connection_count() const { return conns_.size(); }
  // Called (on the io thread) whenever a connection closes; used by the shim to notice its
  // daemon went away. Optional.
  void OnConnectionClosed(std::function<void()> cb) { on_closed_ = std::move(cb); }

 private:
  friend class Connection;
  void Accept();
  void Dispatch(const std::shared_ptr<Connection>& conn, uint32_t stream_id, std::string payload);
  void Remove(Connection* conn);

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::map<std::pair<std::string, std::string>, Handler> handlers_;
  std::set<std::shared_ptr<Connection>> conns_;
  std::function<void()> on_closed_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::ttrpc
