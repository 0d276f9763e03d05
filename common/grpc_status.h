// The one place where berth's Status meets grpc::Status, in both directions. Used by daemon/
// (service edge) and by the berth CLI (client edge). Codes map one to one.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace berth {

grpc::Status ToGrpcStatus(const Status& s);
Status FromGrpcStatus(const grpc::Status& s);

}  // namespace berth
