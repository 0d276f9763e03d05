// Tasks service (containerd.services.tasks.v1.Tasks): maps each call onto the task's shim
// (containerd.task.v2.Task over ttrpc) through runtime::TaskManager, as containerd 1.6 does:
// Get/List -> State (2 s timeout; a closed shim is NotFound), Wait -> an asynchronous shim Wait
// that holds no thread while the process runs, Metrics -> Stats, Delete -> TaskManager::Delete.
// Process.id is the container id for the init process and the exec id for an exec.
#pragma once

#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "daemon/daemon.h"

namespace berth::daemon {

class TasksService final : public containerd::services::tasks::v1::Tasks::CallbackService {
 public:
  explicit TasksService(Daemon& d) : d_(d) {}
  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::CreateTaskRequest* req,
      containerd::services::tasks::v1::CreateTaskResponse* resp) override;
  grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::StartRequest* req,
      containerd::services::tasks::v1::StartResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::DeleteTaskRequest* req,
      containerd::services::tasks::v1::DeleteResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteProcess(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::DeleteProcessRequest* req,
      containerd::services::tasks::v1::DeleteResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::GetRequest* req,
      containerd::services::tasks::v1::GetResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::ListTasksRequest* req,
      containerd::services::tasks::v1::ListTasksResponse* resp) override;
  grpc::ServerUnaryReactor* Kill(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::KillRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Exec(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::ExecProcessRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* ResizePty(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::ResizePtyRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* CloseIO(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::CloseIORequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Pause(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::PauseTaskRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::ResumeTaskRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* ListPids(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::ListPidsRequest* req,
      containerd::services::tasks::v1::ListPidsResponse* resp) override;
  grpc::ServerUnaryReactor* Checkpoint(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::CheckpointTaskRequest* req,
      containerd::services::tasks::v1::CheckpointTaskResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::UpdateTaskRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Metrics(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::MetricsRequest* req,
      containerd::services::tasks::v1::MetricsResponse* resp) override;
  grpc::ServerUnaryReactor* Wait(grpc::CallbackServerContext* ctx, const containerd::services::tasks::v1::WaitRequest* req,
      containerd::services::tasks::v1::WaitResponse* resp) override;

 private:
  Daemon& d_;
};

}  // namespace berth::daemon
