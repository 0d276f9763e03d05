#include "common/grpc_status.h"

namespace berth {

grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return Status();
  return Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace berth
