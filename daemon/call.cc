#include "daemon/call.h"

#include "common/identifiers.h"

namespace berth::daemon {
namespace {
std::string Header(const grpc::ServerContextBase* ctx, const char* name, bool* found) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(name);
  *found = it != md.end();
  return *found ? std::string(it->second.data(), it->second.size()) : std::string();
}
}  // namespace

StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase* ctx) {
  bool found = false;
  std::string ns = Header(ctx, kNamespaceHeader, &found);
  if (!found || ns.empty()) return absl::FailedPreconditionError("namespace is required: failed precondition");
  RETURN_IF_ERROR(ValidateIdentifier(ns, "namespace"));
  return ns;
}

std::string LeaseFromContext(const grpc::ServerContextBase* ctx) {
  bool found = false;
  return Header(ctx, kLeaseHeader, &found);
}

}  // namespace berth::daemon
