// Per-call tracing: at log level trace, every gRPC call berthd serves is logged when it ends,
// with its method, status code and duration ("grpc /containerd.services.tasks.v1.Tasks/Create
// OK 12.3 ms"). The tool for finding where a client's time goes (start latency, slow pulls).
// Installed only when berthd starts at trace level, so it costs nothing otherwise.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace berth::daemon {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeCallTraceFactory();

}  // namespace berth::daemon
