// ttrpc client over one unix socket connection.
//
// Many calls may be in flight at once on the connection: each gets the next odd stream id
// (1, 3, 5, ...) and its own optional timeout, sent as timeout_nano and enforced locally
// (DeadlineExceeded). When the connection closes (peer gone, read/write error, Close()), every
// pending call and every later call fails with Unavailable "ttrpc: closed"; a closed Client
// never reconnects (make a new one).
//
// Two ways to run it:
//  - Client::Connect(address): the client owns an io thread. Call() blocks the calling thread
//    and may be used from any number of threads at once. This is what berthd uses to drive shims.
//  - Client::ConnectOn(io, address): the client runs on the caller's io_context (e.g. the shim's
//    single loop); use CallAsync() there. Never call Call() from that io_context's own thread
//    (it would wait for itself).
// CallAsync() callbacks run on the io thread; keep them short.
//
// Codes returned by calls: the server's status (its code and message), Unavailable
// ("ttrpc: closed") when the connection is or becomes closed, DeadlineExceeded on timeout,
// ResourceExhausted for a request or response above 4 MiB, Internal for undecodable responses.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/status.h"
#include "ttrpc/server.h"  // Metadata

namespace berth::ttrpc {

class ClientConn;

class Client {
 public:
  using Callback = std::function<void(StatusOr<std::string>)>;

  // Connects to `address` ("unix:///path", "unix://path" or a bare path) and starts an io
  // thread. NotFound/Unavailable (from connect(2)) when nobody listens there.
  static StatusOr<std::unique_ptr<Client>> Connect(const std::string& address);
  // Connects on an existing io_context (no thread of its own).
  static StatusOr<std::unique_ptr<Client>> ConnectOn(boost::asio::io_context& io,
                                                     const std::string& address);

  // Closes the connection (pending calls fail with Unavailable) and joins the io thread if any.
  // With ConnectOn, destroy the Client on the io thread or after the io_context stopped.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Blocking call: sends `payload` (an encoded request) to service/method and returns the
  // encoded response. `timeout` zero = wait forever. Thread-safe (Connect mode only).
  StatusOr<std::string> Call(std::string_view service, std::string_view method,
                             std::string payload,
                             std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0),
                             Metadata metadata = {});

  // Typed blocking call for protobuf messages:
  //   auto r = client->Call<containerd::task::v2::StateResponse>("containerd.task.v2.Task",
  //                                                               "State", req, 2s);
  template <typename Resp, typename Req>
  StatusOr<Resp> Call(std::string_view service, std::string_view method, const Req& req,
                      std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0),
                      Metadata metadata = {}) {
    StatusOr<std::string> raw =
        Call(service, method, req.SerializeAsString(), timeout, std::move(metadata));
    if (!raw.ok()) return raw.status();
    Resp resp;
    if (!resp.ParseFromString(*raw)) {
      return absl::InternalError(StrCat("ttrpc: cannot decode response of ", service, "/", method));
    }
    return resp;
  }

  // Asynchronous call; `done` runs exactly once on the io thread. Thread-safe. Returns a handle
  // for Cancel().
  uint64_t CallAsync(std::string_view service, std::string_view method, std::string payload,
                     std::chrono::nanoseconds timeout, Metadata metadata, Callback done);

  // Gives up on the call `handle` if it is still pending: its `done` runs with Cancelled (on the
  // io thread) and is released, with everything it holds; an answer arriving later is dropped,
  // as ttrpc has no cancel frame (the server side finishes on its own). A call that completed
  // already is not affected. Idempotent, thread-safe.
  void Cancel(uint64_t handle);

  // Closes the connection now. Idempotent, thread-safe.
  void Close();
  // True once the connection is closed (by us or the peer).
  bool closed() const;
  // Runs `cb` (on the io thread) when the connection closes; at once if already closed.
  void OnClose(std::function<void()> cb);

 private:
  Client() = default;

  std::unique_ptr<boost::asio::io_context> own_io_;
  std::shared_ptr<ClientConn> conn_;
  std::thread thread_;
};

// "unix:///run/x.sock" -> "/run/x.sock"; a bare path is returned unchanged.
std::string SocketPathFromAddress(std::string_view address);

}  // namespace berth::ttrpc
