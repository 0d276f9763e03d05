// berth rename CONTAINER NEW_NAME. A berth container's name is its containerd id (as
// `--name` makes it), which containerd cannot change in place, so rename makes the record again
// under the new id (spec, labels, extensions, runtime, image, snapshot key kept: the snapshot
// stays where it is) and deletes the old record, moving <root>/containers/<ns>/<id>/ and the
// spec's mounts of it along. A container with a task (running, paused or exited but not yet
// deleted) cannot be renamed: FailedPrecondition, stop and `rm`-free it first (docker renames
// running containers; containerd's tasks are keyed by container id, nerdctl keeps names in a
// label instead).
#include <cstdio>
#include <iostream>

#include "cmd/berth/containers.h"
#include "cmd/berth/paths.h"
#include "common/identifiers.h"

namespace berth::cli {
namespace {

Status Rename(const Globals& g, const std::string& arg, const std::string& to) {
  RETURN_IF_ERROR(ValidateIdentifier(to, "container name"));
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, arg));
  if (c.id() == to) return absl::InvalidArgumentError(StrCat("renaming a container with the same name as its current name"));
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (task) {
    return absl::FailedPreconditionError(StrCat("cannot rename container ", c.id(), ": it has a task (",
                                                IsLive(*task) ? "running" : "stopped", "); stop it first (`berth stop ", c.id(), "`)"));
  }
  std::string old_dir = ContainerDir(g, c.id()), new_dir = ContainerDir(g, to);
  cov1::Container n = c;
  n.set_id(to);
  n.clear_created_at();
  n.clear_updated_at();
  // The spec names the old directory in its bind mounts (/etc/hosts, resolv.conf, hostname).
  if (n.has_spec()) {
    std::string spec = n.spec().value();
    for (size_t p = spec.find(old_dir + "/"); p != std::string::npos; p = spec.find(old_dir + "/", p + new_dir.size())) {
      spec.replace(p, old_dir.size(), new_dir);
    }
    n.mutable_spec()->set_value(spec);
  }
  auto stub = cov1::Containers::NewStub(Connect(g));
  {
    auto ctx = NewContext(g);
    cov1::CreateContainerRequest req;
    *req.mutable_container() = n;
    cov1::CreateContainerResponse resp;
    Status s = FromGrpc(stub->Create(ctx.get(), req, &resp));
    if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("the container name \"", to, "\" is already in use"));
    RETURN_IF_ERROR(s);
  }
  if (::rename(old_dir.c_str(), new_dir.c_str()) != 0 && errno != ENOENT) {
    std::cerr << "berth: warning: move " << old_dir << ": " << std::strerror(errno) << "\n";
  }
  auto ctx = NewContext(g);
  cov1::DeleteContainerRequest req;
  req.set_id(c.id());
  google::protobuf::Empty e;
  return FromGrpc(stub->Delete(ctx.get(), req, &e));
}

}  // namespace

void SetupRename(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("rename", "rename a container that has no task");
  static std::string from, to;
  c->add_option("container", from, "container id, name or unique prefix")->required();
  c->add_option("new_name", to, "new name")->required();
  c->callback([&g] {
    Status s = Rename(g, from, to);
    if (!s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
