#include "daemon/call_trace.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "common/log.h"

namespace berth::daemon {
namespace {

using grpc::experimental::InterceptionHookPoints;

class CallTrace final : public grpc::experimental::Interceptor {
 public:
  explicit CallTrace(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status st = m->GetSendStatus();
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
      char dur[32];
      std::snprintf(dur, sizeof dur, "%.1f ms", ms);
      BLOG(Trace) << "grpc " << method_ << " " << CodeName(st.error_code()) << " " << dur;
    }
    m->Proceed();
  }

 private:
  static const char* CodeName(grpc::StatusCode c) {
    static const char* const kNames[] = {"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
                                         "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
                                         "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
                                         "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
    int i = static_cast<int>(c);
    return i >= 0 && i < static_cast<int>(sizeof kNames / sizeof *kNames) ? kNames[i] : "?";
  }

  std::string method_;
  std::chrono::steady_clock::time_point start_;
};

class CallTraceFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallTrace(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeCallTraceFactory() {
  return std::make_unique<CallTraceFactory>();
}

}  // namespace berth::daemon
