// ShimClient: berthd's connection to one running shim, speaking containerd.task.v2.Task over
// ttrpc. Calls are typed pass-throughs; a closed connection (the shim died or exited) surfaces
// as Unavailable "ttrpc: closed". Wait is asynchronous so a long-poll never holds a thread.
//
// Thread-safety: every method may be called from any thread concurrently (the ttrpc client
// multiplexes calls on its connection).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "ttrpc/client.h"

namespace berth::runtime {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

class ShimClient {
 public:
  // Connects to the shim's ttrpc `address` ("unix:///..."). `on_close` runs (on the client's io
  // thread; it must not destroy this client there) when the connection closes.
  static StatusOr<std::unique_ptr<ShimClient>> Connect(const std::string& address, std::function<void()> on_close);

  // Typed call: Call<containerd::task::v2::StateResponse>("State", req, 2s).
  template <typename Resp, typename Req>
  StatusOr<Resp> Call(const char* method, const Req& req,
                      std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0)) {
    return client_->Call<Resp>(kTaskService, method, req, timeout);
  }

  // Shim Wait without blocking a thread; `done` runs once on the client's io thread. Returns a
  // handle for CancelWait.
  uint64_t WaitAsync(const std::string& id, const std::string& exec_id,
                     std::function<void(StatusOr<containerd::task::v2::WaitResponse>)> done);
  // Drops a pending WaitAsync: its `done` runs with Cancelled and is released (the shim's own
  // Wait handler finishes when the process exits; its late answer is discarded).
  void CancelWait(uint64_t handle) { client_->Cancel(handle); }

  void Close() { client_->Close(); }
  // Runs `cb` once the connection closes (at once when it is closed already).
  void OnClose(std::function<void()> cb) { client_->OnClose(std::move(cb)); }
  bool closed() const { return client_->closed(); }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<ttrpc::Client> client_;
  std::string address_;
};

}  // namespace berth::runtime
