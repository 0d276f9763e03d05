#include "daemon/task_start.h"

namespace berth::daemon {

runtime::CreateTaskParams ContainerTaskParams(const std::string& ns, const metadata::Container& c) {
  runtime::CreateTaskParams p;
  p.ns = ns;
  p.id = c.id;
  p.runtime = c.runtime_name;
  if (c.spec) p.spec_json = c.spec->value;
  if (c.runtime_options) {
    p.request.mutable_options()->set_type_url(c.runtime_options->type_url);
    p.request.mutable_options()->set_value(c.runtime_options->value);
    p.options_any = metadata::EncodeAny(*c.runtime_options);
  }
  return p;
}

StatusOr<uint32_t> StartTaskProcess(runtime::Task& t, const std::string& exec_id) {
  containerd::task::v2::StartRequest sr;
  sr.set_id(t.id());
  sr.set_exec_id(exec_id);
  ASSIGN_OR_RETURN(auto r, t.shim().Call<containerd::task::v2::StartResponse>("Start", sr));
  return r.pid();
}

}  // namespace berth::daemon
