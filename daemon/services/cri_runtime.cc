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

cri::SandboxConfig FromProto(const rv1::RunPodSandboxRequest& req) {
  const auto& c = req.config();
  cri::SandboxConfig out;
  out.name = c.metadata().name();
  out.uid = c.metadata().uid();
  out.pod_namespace = c.metadata().namespace_();
  out.attempt = c.metadata().attempt();
  out.hostname = c.hostname();
  out.log_directory = c.log_directory();
  if (c.has_dns_config()) {
    out.has_dns = true;
    out.dns_servers.assign(c.dns_config().servers().begin(), c.dns_config().servers().end());
    out.dns_searches.assign(c.dns_config().searches().begin(), c.dns_config().searches().end());
    out.dns_options.assign(c.dns_config().options().begin(), c.dns_config().options().end());
  }
  for (const auto& p : c.port_mappings()) {
    out.port_mappings.push_back({static_cast<int>(p.protocol()), p.container_port(), p.host_port(), p.host_ip()});
  }
  out.labels.insert(c.labels().begin(), c.labels().end());
  out.annotations.insert(c.annotations().begin(), c.annotations().end());
  out.cgroup_parent = c.linux().cgroup_parent();
  const auto& ns = c.linux().security_context().namespace_options();
  out.network = static_cast<cri::NamespaceMode>(ns.network());
  out.pid = static_cast<cri::NamespaceMode>(ns.pid());
  out.ipc = static_cast<cri::NamespaceMode>(ns.ipc());
  out.sysctls.insert(c.linux().sysctls().begin(), c.linux().sysctls().end());
  out.runtime_handler = req.runtime_handler();
  return out;
}

void MetadataToProto(const cri::SandboxConfig& c, rv1::PodSandboxMetadata* m) {
  m->set_name(c.name);
  m->set_uid(c.uid);
  m->set_namespace_(c.pod_namespace);
  m->set_attempt(c.attempt);
}

}  // namespace

grpc::ServerUnaryReactor* CriRuntimeService::RunPodSandbox(grpc::CallbackServerContext* ctx,
                                                           const rv1::RunPodSandboxRequest* req,
                                                           rv1::RunPodSandboxResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(std::string id, c_->sandboxes->Run(FromProto(*req)));
    resp->set_pod_sandbox_id(id);
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::StopPodSandbox(grpc::CallbackServerContext* ctx,
                                                            const rv1::StopPodSandboxRequest* req,
                                                            rv1::StopPodSandboxResponse*) {
  return RunUnary(ctx, *c_->d.pool, [this, req]() -> berth::Status { return c_->sandboxes->Stop(req->pod_sandbox_id()); });
}

grpc::ServerUnaryReactor* CriRuntimeService::RemovePodSandbox(grpc::CallbackServerContext* ctx,
                                                              const rv1::RemovePodSandboxRequest* req,
                                                              rv1::RemovePodSandboxResponse*) {
  return RunUnary(ctx, *c_->d.pool,
                  [this, req]() -> berth::Status { return c_->sandboxes->Remove(req->pod_sandbox_id()); });
}

grpc::ServerUnaryReactor* CriRuntimeService::PodSandboxStatus(grpc::CallbackServerContext* ctx,
                                                              const rv1::PodSandboxStatusRequest* req,
                                                              rv1::PodSandboxStatusResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(cri::Sandbox s, c_->sandboxes->Get(req->pod_sandbox_id()));
    auto* st = resp->mutable_status();
    st->set_id(s.id);
    MetadataToProto(s.config, st->mutable_metadata());
    st->set_state(static_cast<rv1::PodSandboxState>(s.state));
    st->set_created_at(s.created_at);
    st->mutable_network()->set_ip(s.ip);
    for (const auto& ip : s.additional_ips) st->mutable_network()->add_additional_ips()->set_ip(ip);
    auto* nso = st->mutable_linux()->mutable_namespaces()->mutable_options();
    nso->set_network(static_cast<rv1::NamespaceMode>(s.config.network));
    nso->set_pid(static_cast<rv1::NamespaceMode>(s.config.pid));
    nso->set_ipc(static_cast<rv1::NamespaceMode>(s.config.ipc));
    st->mutable_labels()->insert(s.config.labels.begin(), s.config.labels.end());
    st->mutable_annotations()->insert(s.config.annotations.begin(), s.config.annotations.end());
    st->set_runtime_handler(s.config.runtime_handler);
    if (req->verbose()) {
      nlohmann::json info = {{"pid", s.pid},
                             {"processStatus", s.state == cri::SandboxState::kReady ? "running" : "stopped"},
                             {"netNamespaceClosed", s.config.network != cri::NamespaceMode::kNode && s.ip.empty()},
                             {"netns", s.netns},
                             {"image", s.image},
                             {"sandboxDir", c_->sandboxes->Dir(s.id)},
                             {"runtimeHandler", s.config.runtime_handler}};
      (*resp->mutable_info())["info"] = info.dump();
    }
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::ListPodSandbox(grpc::CallbackServerContext* ctx,
                                                            const rv1::ListPodSandboxRequest* req,
                                                            rv1::ListPodSandboxResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    cri::SandboxFilter f;
    if (req->has_filter()) {
      f.id = req->filter().id();
      if (req->filter().has_state()) f.state = static_cast<cri::SandboxState>(req->filter().state().state());
      f.label_selector.insert(req->filter().label_selector().begin(), req->filter().label_selector().end());
    }
    ASSIGN_OR_RETURN(auto all, c_->sandboxes->List(f));
    for (const auto& s : all) {
      auto* it = resp->add_items();
      it->set_id(s.id);
      MetadataToProto(s.config, it->mutable_metadata());
      it->set_state(static_cast<rv1::PodSandboxState>(s.state));
      it->set_created_at(s.created_at);
      it->mutable_labels()->insert(s.config.labels.begin(), s.config.labels.end());
      it->mutable_annotations()->insert(s.config.annotations.begin(), s.config.annotations.end());
      it->set_runtime_handler(s.config.runtime_handler);
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
