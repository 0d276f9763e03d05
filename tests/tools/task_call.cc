// berth-test-task: one Tasks API call that the stock ctr cannot make, for the shim contract tests.
// It talks to berthd or containerd alike (containerd's v1 gRPC API on a unix socket):
//
//   berth-test-task SOCK NS closeio ID [EXEC_ID]          Tasks.CloseIO(stdin=true)
//   berth-test-task SOCK NS resize ID EXEC_ID WIDTH HEIGHT Tasks.ResizePty
//   berth-test-task SOCK NS update-memory ID BYTES         Tasks.Update with LinuxResources{memory.limit}
//
// Prints "ok" and exits 0 when the call succeeds; otherwise prints "<grpc code name>: <message>"
// and exits 1 (2 on a usage error).
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "containerd/services/tasks/v1/tasks.grpc.pb.h"

namespace tkv1 = containerd::services::tasks::v1;

namespace {

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "Canceled";
    case grpc::StatusCode::UNKNOWN: return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND: return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS: return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED: return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FailedPrecondition";
    case grpc::StatusCode::ABORTED: return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED: return "Unimplemented";
    case grpc::StatusCode::INTERNAL: return "Internal";
    case grpc::StatusCode::UNAVAILABLE: return "Unavailable";
    case grpc::StatusCode::DATA_LOSS: return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED: return "Unauthenticated";
    default: return "Code?";
  }
}

int Usage() {
  std::cerr << "usage: berth-test-task SOCK NS closeio ID [EXEC_ID]\n"
               "       berth-test-task SOCK NS resize ID EXEC_ID WIDTH HEIGHT\n"
               "       berth-test-task SOCK NS update-memory ID BYTES\n";
  return 2;
}

int Report(const grpc::Status& s) {
  if (s.ok()) {
    std::cout << "ok\n";
    return 0;
  }
  std::cout << CodeName(s.error_code()) << ": " << s.error_message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return Usage();
  const std::string sock = argv[1], ns = argv[2], cmd = argv[3], id = argv[4];
  auto stub = tkv1::Tasks::NewStub(grpc::CreateChannel("unix:" + sock, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("containerd-namespace", ns);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  google::protobuf::Empty empty;
  if (cmd == "closeio" && argc <= 6) {
    tkv1::CloseIORequest req;
    req.set_container_id(id);
    if (argc == 6) req.set_exec_id(argv[5]);
    req.set_stdin(true);
    return Report(stub->CloseIO(&ctx, req, &empty));
  }
  if (cmd == "resize" && argc == 8) {
    tkv1::ResizePtyRequest req;
    req.set_container_id(id);
    req.set_exec_id(argv[5]);
    req.set_width(static_cast<uint32_t>(std::strtoul(argv[6], nullptr, 10)));
    req.set_height(static_cast<uint32_t>(std::strtoul(argv[7], nullptr, 10)));
    return Report(stub->ResizePty(&ctx, req, &empty));
  }
  if (cmd == "update-memory" && argc == 6) {
    tkv1::UpdateTaskRequest req;
    req.set_container_id(id);
    // containerd's typeurl registers runtime-spec types as JSON under this URL.
    req.mutable_resources()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    req.mutable_resources()->set_value(std::string("{\"memory\":{\"limit\":") + argv[5] + "}}");
    return Report(stub->Update(&ctx, req, &empty));
  }
  return Usage();
}
