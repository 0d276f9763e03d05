#include "runtime/shim_client.h"

namespace berth::runtime {

StatusOr<std::unique_ptr<ShimClient>> ShimClient::Connect(const std::string& address, std::function<void()> on_close) {
  ASSIGN_OR_RETURN(std::unique_ptr<ttrpc::Client> c, ttrpc::Client::Connect(address));
  auto out = std::unique_ptr<ShimClient>(new ShimClient());
  out->client_ = std::move(c);
  out->address_ = address;
  if (on_close) out->client_->OnClose(std::move(on_close));
  return out;
}

uint64_t ShimClient::WaitAsync(const std::string& id, const std::string& exec_id,
                           std::function<void(StatusOr<containerd::task::v2::WaitResponse>)> done) {
  containerd::task::v2::WaitRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  return client_->CallAsync(kTaskService, "Wait", req.SerializeAsString(), std::chrono::nanoseconds(0), {},
                     [done = std::move(done)](StatusOr<std::string> raw) {
                       if (!raw.ok()) {
                         done(raw.status());
                         return;
                       }
                       containerd::task::v2::WaitResponse resp;
                       if (!resp.ParseFromString(*raw)) {
                         done(absl::InternalError("ttrpc: cannot decode response of Wait"));
                         return;
                       }
                       done(std::move(resp));
                     });
}

}  // namespace berth::runtime
