// berth wait / tag / version / container prune / image prune.
//   wait C...                 block until each container stops; print its exit code (docker's)
//   tag SOURCE TARGET         another name for an image (same target manifest)
//   version                   client and berthd versions
//   container prune [-f]      remove every container that is not running
//   image prune [-a] [-f]     remove untagged images no container uses (-a: every unused image)
#include <iostream>
#include <set>

#include "cmd/berth/containers.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "remotes/reference.h"

namespace berth::cli {
namespace {

namespace imv1 = containerd::services::images::v1;
namespace vv1 = containerd::services::version::v1;

StatusOr<int> WaitOne(const Globals& g, const std::string& arg) {
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, arg));
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (task && task->status() != containerd::v1::types::STOPPED) {
    ASSIGN_OR_RETURN(tkv1::WaitResponse w, WaitProcess(g, c.id(), ""));
    return static_cast<int>(w.exit_status());
  }
  ContainerStatus st = StatusOf(c, task ? &*task : nullptr);
  return st.exit_code >= 0 ? st.exit_code : 0;
}

StatusOr<std::vector<imv1::Image>> ListImages(const Globals& g) {
  auto stub = imv1::Images::NewStub(Connect(g));
  auto ctx = NewContext(g);
  imv1::ListImagesResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), imv1::ListImagesRequest(), &resp)));
  return std::vector<imv1::Image>(resp.images().begin(), resp.images().end());
}

StatusOr<std::vector<cov1::Container>> ListContainers(const Globals& g) {
  auto stub = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::ListContainersResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), cov1::ListContainersRequest(), &resp)));
  return std::vector<cov1::Container>(resp.containers().begin(), resp.containers().end());
}

}  // namespace

void SetupWait(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("wait", "wait for containers to stop and print their exit codes");
  static std::vector<std::string> ids;
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    for (const auto& a : ids) {
      auto code = WaitOne(g, a);
      if (code.ok()) {
        std::cout << *code << "\n";
      } else {
        std::cerr << "berth: " << a << ": " << code.status().message() << "\n";
        g.exit_code = 1;
      }
    }
  });
}

void SetupTag(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("tag", "give an image another name");
  static std::string source, target;
  c->add_option("source", source, "existing image")->required();
  c->add_option("target", target, "new name (normalised as docker does: busybox -> docker.io/library/busybox:latest)")
      ->required();
  c->callback([&g] {
    auto img = ResolveImage(g, source);
    if (!img.ok()) return void(g.exit_code = Fail(img.status(), 1));
    auto ref = remotes::ParseReference(target);
    if (!ref.ok()) return void(g.exit_code = Fail(ref.status(), 1));
    auto stub = imv1::Images::NewStub(Connect(g));
    imv1::GetImageResponse got;
    {
      auto ctx = NewContext(g);
      imv1::GetImageRequest req;
      req.set_name(img->name);
      if (Status s = FromGrpc(stub->Get(ctx.get(), req, &got)); !s.ok()) return void(g.exit_code = Fail(s, 1));
    }
    imv1::Image im;
    im.set_name(ref->String());
    *im.mutable_target() = got.image().target();
    auto ctx = NewContext(g);
    imv1::CreateImageRequest creq;
    *creq.mutable_image() = im;
    imv1::CreateImageResponse cresp;
    grpc::Status s = stub->Create(ctx.get(), creq, &cresp);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      auto uctx = NewContext(g);
      imv1::UpdateImageRequest ureq;
      *ureq.mutable_image() = im;
      imv1::UpdateImageResponse uresp;
      s = stub->Update(uctx.get(), ureq, &uresp);
    }
    if (!s.ok()) g.exit_code = Fail(FromGrpc(s), 1);
  });
}

void SetupVersion(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("version", "print the client's and berthd's versions");
  c->callback([&g] {
    std::cout << "Client:\n Version:\t" << BERTH_CLI_VERSION << "\n API:\t\tcontainerd v1 gRPC\n\n";
    auto stub = vv1::Version::NewStub(Connect(g));
    auto ctx = NewContext(g);
    vv1::VersionResponse resp;
    Status s = FromGrpc(stub->Version(ctx.get(), google::protobuf::Empty(), &resp));
    if (!s.ok()) return void(g.exit_code = Fail(s, 1));
    std::cout << "Server: berthd (" << g.address << ")\n Version:\t" << resp.version() << "\n Revision:\t"
              << resp.revision() << "\n";
  });
}

void SetupContainerPrune(CLI::App& app, Globals& g) {
  auto* group = app.add_subcommand("container", "manage containers (prune)");
  group->require_subcommand(1);
  auto* c = group->add_subcommand("prune", "remove every container that is not running");
  static bool force = false;
  c->add_flag("-f,--force", force, "do not ask (berth never asks)");
  c->callback([&g] {
    auto list = ListContainers(g);
    if (!list.ok()) return void(g.exit_code = Fail(list.status(), 1));
    std::cout << "Deleted Containers:\n";
    for (const auto& ct : *list) {
      auto task = GetTask(g, ct.id());
      if (!task.ok() || IsLive(*task)) continue;
      Status s = RemoveContainer(g, ct, false);
      if (s.ok()) {
        std::cout << ct.id() << "\n";
      } else {
        std::cerr << "berth: " << ct.id() << ": " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });
}

void SetupImagePrune(CLI::App& app, Globals& g) {
  auto* group = app.add_subcommand("image", "manage images (prune)");
  group->require_subcommand(1);
  auto* c = group->add_subcommand("prune", "remove untagged images no container uses (-a: every unused image)");
  static bool all = false, force = false;
  c->add_flag("-a,--all", all, "remove every image no container uses");
  c->add_flag("-f,--force", force, "do not ask (berth never asks)");
  c->callback([&g] {
    auto images = ListImages(g);
    auto containers = ListContainers(g);
    if (!images.ok() || !containers.ok()) {
      return void(g.exit_code = Fail(images.ok() ? containers.status() : images.status(), 1));
    }
    std::set<std::string> used;
    for (const auto& ct : *containers) used.insert(ct.image());
    auto stub = imv1::Images::NewStub(Connect(g));
    std::cout << "Deleted Images:\n";
    for (const auto& im : *images) {
      bool untagged = im.name().find('@') != std::string::npos;
      if (used.count(im.name()) || (!all && !untagged)) continue;
      auto ctx = NewContext(g);
      imv1::DeleteImageRequest req;
      req.set_name(im.name());
      google::protobuf::Empty empty;
      Status s = FromGrpc(stub->Delete(ctx.get(), req, &empty));
      if (s.ok()) {
        std::cout << "untagged: " << im.name() << "\n";
      } else {
        std::cerr << "berth: " << im.name() << ": " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });
}

}  // namespace berth::cli
