// runtime.v1.RuntimeService's container calls over cri::ContainerManager.
#include <nlohmann/json.hpp>

#include "daemon/call.h"
#include "daemon/services/cri.h"

namespace berth::daemon {

namespace rv1 = ::runtime::v1;

namespace {

cri::ContainerConfig FromProto(const rv1::ContainerConfig& c) {
  cri::ContainerConfig out;
  out.name = c.metadata().name();
  out.attempt = c.metadata().attempt();
  out.image = c.image().image();
  out.command.assign(c.command().begin(), c.command().end());
  out.args.assign(c.args().begin(), c.args().end());
  out.working_dir = c.working_dir();
  for (const auto& e : c.envs()) out.envs.emplace_back(e.key(), e.value());
  for (const auto& m : c.mounts()) {
    out.mounts.push_back({m.container_path(), m.host_path(), m.readonly(), static_cast<int>(m.propagation())});
  }
  out.labels.insert(c.labels().begin(), c.labels().end());
  out.annotations.insert(c.annotations().begin(), c.annotations().end());
  out.log_path = c.log_path();
  const auto& r = c.linux().resources();
  out.cpu_period = r.cpu_period();
  out.cpu_quota = r.cpu_quota();
  out.cpu_shares = r.cpu_shares();
  out.memory_limit = r.memory_limit_in_bytes();
  out.oom_score_adj = r.oom_score_adj();
  out.cpuset_cpus = r.cpuset_cpus();
  out.cpuset_mems = r.cpuset_mems();
  const auto& sc = c.linux().security_context();
  out.privileged = sc.privileged();
  out.readonly_rootfs = sc.readonly_rootfs();
  out.no_new_privs = sc.no_new_privs();
  out.add_caps.assign(sc.capabilities().add_capabilities().begin(), sc.capabilities().add_capabilities().end());
  out.drop_caps.assign(sc.capabilities().drop_capabilities().begin(), sc.capabilities().drop_capabilities().end());
  if (sc.has_run_as_user()) out.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) out.run_as_group = sc.run_as_group().value();
  out.supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  // containerd 1.6: no seccomp message and no (deprecated) path is unconfined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const std::string legacy = sc.seccomp_profile_path();
#pragma GCC diagnostic pop
  if (sc.has_seccomp()) {
    out.seccomp_type = static_cast<int>(sc.seccomp().profile_type());
    out.seccomp_localhost = sc.seccomp().localhost_ref();
  } else if (legacy == "runtime/default" || legacy == "docker/default") {
    out.seccomp_type = 0;
  } else if (legacy.rfind("localhost/", 0) == 0) {
    out.seccomp_type = 2;
    out.seccomp_localhost = legacy;
  }
  out.pid = static_cast<cri::NamespaceMode>(sc.namespace_options().pid());
  return out;
}

void Meta(const cri::ContainerConfig& c, rv1::ContainerMetadata* m) {
  m->set_name(c.name);
  m->set_attempt(c.attempt);
}

void StatsToProto(const cri::ContainerManager::StatsSample& s, rv1::ContainerStats* out) {
  const cri::CriContainer& c = s.container;
  auto* a = out->mutable_attributes();
  a->set_id(c.id);
  Meta(c.config, a->mutable_metadata());
  a->mutable_labels()->insert(c.config.labels.begin(), c.config.labels.end());
  a->mutable_annotations()->insert(c.config.annotations.begin(), c.config.annotations.end());
  const cri::TaskMetrics& m = s.metrics;
  auto* cpu = out->mutable_cpu();
  cpu->set_timestamp(m.timestamp);
  cpu->mutable_usage_core_nano_seconds()->set_value(m.cpu_usage_ns);
  cpu->mutable_usage_nano_cores()->set_value(s.usage_nano_cores);
  auto* mem = out->mutable_memory();
  mem->set_timestamp(m.timestamp);
  mem->mutable_working_set_bytes()->set_value(m.working_set);
  mem->mutable_available_bytes()->set_value(m.available);
  mem->mutable_usage_bytes()->set_value(m.memory_usage);
  mem->mutable_rss_bytes()->set_value(m.rss);
  mem->mutable_page_faults()->set_value(m.page_faults);
  mem->mutable_major_page_faults()->set_value(m.major_page_faults);
  if (s.has_writable_layer) {
    auto* fs = out->mutable_writable_layer();
    fs->set_timestamp(s.layer_timestamp);
    fs->mutable_fs_id()->set_mountpoint(s.layer_mountpoint);
    fs->mutable_used_bytes()->set_value(s.layer_bytes);
    fs->mutable_inodes_used()->set_value(s.layer_inodes);
  }
}

}  // namespace

grpc::ServerUnaryReactor* CriRuntimeService::CreateContainer(grpc::CallbackServerContext* ctx,
                                                             const rv1::CreateContainerRequest* req,
                                                             rv1::CreateContainerResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(std::string id, c_->containers->Create(req->pod_sandbox_id(), FromProto(req->config())));
    resp->set_container_id(id);
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::StartContainer(grpc::CallbackServerContext* ctx,
                                                            const rv1::StartContainerRequest* req,
                                                            rv1::StartContainerResponse*) {
  return RunUnary(ctx, *c_->d.pool,
                  [this, req]() -> berth::Status { return c_->containers->Start(req->container_id()); });
}

grpc::ServerUnaryReactor* CriRuntimeService::StopContainer(grpc::CallbackServerContext* ctx,
                                                           const rv1::StopContainerRequest* req,
                                                           rv1::StopContainerResponse*) {
  return RunUnary(ctx, *c_->d.pool, [this, req]() -> berth::Status {
    return c_->containers->Stop(req->container_id(), req->timeout());
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::RemoveContainer(grpc::CallbackServerContext* ctx,
                                                             const rv1::RemoveContainerRequest* req,
                                                             rv1::RemoveContainerResponse*) {
  return RunUnary(ctx, *c_->d.pool,
                  [this, req]() -> berth::Status { return c_->containers->Remove(req->container_id()); });
}

grpc::ServerUnaryReactor* CriRuntimeService::ListContainers(grpc::CallbackServerContext* ctx,
                                                            const rv1::ListContainersRequest* req,
                                                            rv1::ListContainersResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    cri::ContainerFilter f;
    if (req->has_filter()) {
      f.id = req->filter().id();
      f.sandbox_id = req->filter().pod_sandbox_id();
      if (req->filter().has_state()) f.state = static_cast<cri::ContainerState>(req->filter().state().state());
      f.label_selector.insert(req->filter().label_selector().begin(), req->filter().label_selector().end());
    }
    ASSIGN_OR_RETURN(auto all, c_->containers->List(f));
    for (const auto& c : all) {
      auto* it = resp->add_containers();
      it->set_id(c.id);
      it->set_pod_sandbox_id(c.sandbox_id);
      Meta(c.config, it->mutable_metadata());
      it->mutable_image()->set_image(c.image_id);
      it->set_image_ref(c.image_ref);
      it->set_state(static_cast<rv1::ContainerState>(c.state));
      it->set_created_at(c.created_at);
      it->mutable_labels()->insert(c.config.labels.begin(), c.config.labels.end());
      it->mutable_annotations()->insert(c.config.annotations.begin(), c.config.annotations.end());
    }
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::ContainerStatus(grpc::CallbackServerContext* ctx,
                                                             const rv1::ContainerStatusRequest* req,
                                                             rv1::ContainerStatusResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(cri::CriContainer c, c_->containers->Get(req->container_id()));
    auto* st = resp->mutable_status();
    st->set_id(c.id);
    Meta(c.config, st->mutable_metadata());
    st->set_state(static_cast<rv1::ContainerState>(c.state));
    st->set_created_at(c.created_at);
    st->set_started_at(c.started_at);
    st->set_finished_at(c.finished_at);
    st->set_exit_code(c.exit_code);
    st->mutable_image()->set_image(c.config.image);
    st->set_image_ref(c.image_ref);
    st->set_reason(c.reason);
    st->mutable_labels()->insert(c.config.labels.begin(), c.config.labels.end());
    st->mutable_annotations()->insert(c.config.annotations.begin(), c.config.annotations.end());
    for (const auto& m : c.config.mounts) {
      auto* pm = st->add_mounts();
      pm->set_container_path(m.container_path);
      pm->set_host_path(m.host_path);
      pm->set_readonly(m.readonly);
      pm->set_propagation(static_cast<rv1::MountPropagation>(m.propagation));
    }
    st->set_log_path(c.log_path);
    if (req->verbose()) {
      nlohmann::json info = {{"sandboxID", c.sandbox_id}, {"pid", c.pid}, {"imageID", c.image_id}};
      (*resp->mutable_info())["info"] = info.dump();
    }
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::ReopenContainerLog(grpc::CallbackServerContext* ctx,
                                                                const rv1::ReopenContainerLogRequest* req,
                                                                rv1::ReopenContainerLogResponse*) {
  return RunUnary(ctx, *c_->d.pool,
                  [this, req]() -> berth::Status { return c_->containers->ReopenLog(req->container_id()); });
}

grpc::ServerUnaryReactor* CriRuntimeService::ExecSync(grpc::CallbackServerContext* ctx,
                                                      const rv1::ExecSyncRequest* req, rv1::ExecSyncResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    std::vector<std::string> cmd(req->cmd().begin(), req->cmd().end());
    ASSIGN_OR_RETURN(auto r, c_->containers->ExecSync(req->container_id(), cmd, req->timeout()));
    resp->set_stdout(std::move(r.stdout_data));
    resp->set_stderr(std::move(r.stderr_data));
    resp->set_exit_code(r.exit_code);
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::ContainerStats(grpc::CallbackServerContext* ctx,
                                                            const rv1::ContainerStatsRequest* req,
                                                            rv1::ContainerStatsResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(auto s, c_->containers->Stats(req->container_id()));
    StatsToProto(s, resp->mutable_stats());
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::ListContainerStats(grpc::CallbackServerContext* ctx,
                                                                const rv1::ListContainerStatsRequest* req,
                                                                rv1::ListContainerStatsResponse* resp) {
  return RunUnary(ctx, *c_->d.pool, [this, req, resp]() -> berth::Status {
    cri::ContainerFilter f;
    if (req->has_filter()) {
      f.id = req->filter().id();
      f.sandbox_id = req->filter().pod_sandbox_id();
      f.label_selector.insert(req->filter().label_selector().begin(), req->filter().label_selector().end());
    }
    ASSIGN_OR_RETURN(auto all, c_->containers->ListStats(f));
    for (const auto& s : all) StatsToProto(s, resp->add_stats());
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* CriRuntimeService::UpdateContainerResources(
    grpc::CallbackServerContext* ctx, const rv1::UpdateContainerResourcesRequest* req,
    rv1::UpdateContainerResourcesResponse*) {
  return RunUnary(ctx, *c_->d.pool, [this, req]() -> berth::Status {
    cri::ContainerManager::ResourceUpdate u;
    const auto& r = req->linux();
    u.cpu_period = r.cpu_period();
    u.cpu_quota = r.cpu_quota();
    u.cpu_shares = r.cpu_shares();
    u.memory_limit = r.memory_limit_in_bytes();
    u.memory_swap_limit = r.memory_swap_limit_in_bytes();
    u.cpuset_cpus = r.cpuset_cpus();
    u.cpuset_mems = r.cpuset_mems();
    u.unified.insert(r.unified().begin(), r.unified().end());
    return c_->containers->UpdateResources(req->container_id(), u);
  });
}

}  // namespace berth::daemon
