// Helpers every gRPC service adapter uses.
//
// Handlers never block a gRPC callback thread: RunUnary() moves the work (SQLite, file I/O,
// calls into shims) to the daemon's bounded blocking pool and finishes the reactor from there.
// RequireNamespace() reads the containerd-namespace header with containerd's rules.
#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>

#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::daemon {

inline constexpr char kNamespaceHeader[] = "containerd-namespace";
inline constexpr char kLeaseHeader[] = "containerd-lease";

// FailedPrecondition ("namespace is required") when the header is missing, InvalidArgument when
// the name is not a valid identifier.
StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase* ctx);

// The containerd-lease header, or "" when the call is not made inside a lease.
std::string LeaseFromContext(const grpc::ServerContextBase* ctx);

// Runs `fn` on `pool` and finishes the returned reactor with its status.
inline grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, boost::asio::thread_pool& pool,
                                          std::function<Status()> fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  boost::asio::post(pool, [reactor, fn = std::move(fn)] { reactor->Finish(ToGrpcStatus(fn())); });
  return reactor;
}

// Finishes at once (for handlers that only touch memory).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const Status& s) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace berth::daemon
