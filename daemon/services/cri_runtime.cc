// runtime.v1.RuntimeService over the core in cri/.
#include <nlohmann/json.hpp>

#include "cri/runtime_status.h"
#include "daemon/call.h"
#include "daemon/services/cri.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif

namespace berth::daemon {

namespace rv1 = ::runtime::v1;

grpc::ServerUnaryReactor* CriRuntimeService::Version(grpc::CallbackServerContext* ctx, const rv1::VersionRequest*,
                                                     rv1::VersionResponse* resp) {
  resp->set_version(cri::kKubeApiVersion);
  resp->set_runtime_name(cri::kRuntimeName);
  resp->set_runtime_version(BERTH_VERSION);
  resp->set_runtime_api_version(cri::kRuntimeApiVersion);
  return FinishNow(ctx, berth::Status());
}

grpc::ServerUnaryReactor* CriRuntimeService::Status(grpc::CallbackServerContext* ctx, const rv1::StatusRequest* req,
                                                    rv1::StatusResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    const auto& cfg = c_->d.config.cri;
    for (const auto& c : cri::RuntimeConditions(cfg.cni_conf_dir)) {
      auto* out = resp->mutable_status()->add_conditions();
      out->set_type(c.type);
      out->set_status(c.status);
      out->set_reason(c.reason);
      out->set_message(c.message);
    }
    if (req->verbose()) {
      nlohmann::json config = {
          {"sandboxImage", cfg.sandbox_image},
          {"snapshotter", cfg.snapshotter},
          {"defaultRuntimeName", cfg.default_runtime_name},
          {"restrictOOMScoreAdj", cfg.restrict_oom_score_adj},
          {"maxContainerLogLineSize", cfg.max_container_log_line_size},
          {"cni", {{"binDir", cfg.cni_bin_dir}, {"confDir", cfg.cni_conf_dir}, {"maxConfNum", cfg.cni_max_conf_num}}},
          {"containerdRootDir", c_->d.config.root},
          {"stateDir", c_->d.config.state},
      };
      (*resp->mutable_info())["config"] = config.dump();
      nlohmann::json files = cri::CniConfigFiles(cfg.cni_conf_dir);
      (*resp->mutable_info())["cniconfig"] = nlohmann::json{{"confDir", cfg.cni_conf_dir}, {"files", files}}.dump();
    }
    return berth::Status();
  });
}

namespace {
constexpr char kNoStreaming[] =
    "berthd does not serve the CRI streaming server (Exec, Attach, PortForward) yet; use ExecSync";
}

grpc::ServerUnaryReactor* CriRuntimeService::Exec(grpc::CallbackServerContext* ctx, const rv1::ExecRequest*,
                                                  rv1::ExecResponse*) {
  return FinishNow(ctx, absl::UnimplementedError(kNoStreaming));
}
grpc::ServerUnaryReactor* CriRuntimeService::Attach(grpc::CallbackServerContext* ctx, const rv1::AttachRequest*,
                                                    rv1::AttachResponse*) {
  return FinishNow(ctx, absl::UnimplementedError(kNoStreaming));
}
grpc::ServerUnaryReactor* CriRuntimeService::PortForward(grpc::CallbackServerContext* ctx,
                                                         const rv1::PortForwardRequest*, rv1::PortForwardResponse*) {
  return FinishNow(ctx, absl::UnimplementedError(kNoStreaming));
}

}  // namespace berth::daemon
