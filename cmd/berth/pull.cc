// berth pull REF: asks berthd to pull (and unpack) an image and shows per-layer progress:
// redrawn bars on a terminal, one line per state change otherwise.
#include <unistd.h>

#include <iostream>
#include <map>
#include <vector>

#include "berth/services/images/v1/pull.grpc.pb.h"
#include "cmd/berth/commands.h"
#include "cmd/berth/registry_auth.h"
#include "remotes/reference.h"

namespace berth::cli {
namespace {

namespace bpv1 = berth::services::images::v1;

struct LayerLine {
  std::string status = "waiting";
  int64_t offset = 0, total = 0;
};

std::string Short(const std::string& digest) {
  return digest.rfind("sha256:", 0) == 0 ? digest.substr(7, 12) : digest.substr(0, 12);
}

std::string Bar(const LayerLine& l) {
  const int width = 30;
  int fill = l.total > 0 ? static_cast<int>(width * std::min<int64_t>(l.offset, l.total) / l.total) : 0;
  if (l.status != "waiting" && l.status != "downloading") fill = width;
  return "[" + std::string(fill, '=') + std::string(width - fill, ' ') + "]";
}

}  // namespace

grpc::Status PullImage(const Globals& g, const PullOptions& o, std::ostream& out, bool tty, std::string* image_name) {
  auto stub = bpv1::Images::NewStub(Connect(g));
  auto ctx = NewContext(g);
  bpv1::PullRequest req;
  req.set_ref(o.ref);
  req.set_plain_http(o.plain_http);
  req.set_platform(o.platform);
  req.set_unpack(o.unpack);
  req.set_snapshotter(o.snapshotter);
  for (const auto& h : o.insecure_hosts) req.add_insecure_hosts(h);
  // Credentials and CA travel with the request: berthd keeps none (docs/DESIGN.md).
  std::string host;
  if (auto ref = remotes::ParseReference(o.ref); ref.ok()) {
    host = ref->domain;
    auto access = AccessFor(host, o.tlscacert);
    if (!access.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(access.status().message()));
    req.set_username(access->username);
    req.set_password(access->password);
    req.set_ca_pem(access->ca_pem);
  }
  auto reader = stub->Pull(ctx.get(), req);
  std::vector<std::string> order;
  std::map<std::string, LayerLine> lines;
  int drawn = 0;
  auto redraw = [&] {
    if (drawn > 0) out << "\033[" << drawn << "A";
    for (const auto& d : order) {
      const auto& l = lines[d];
      out << "\033[2K" << Short(d) << " " << Bar(l) << " " << l.status;
      if (l.status == "downloading") out << " " << HumanSize(l.offset) << "/" << HumanSize(l.total);
      out << "\n";
    }
    drawn = static_cast<int>(order.size());
    out.flush();
  };
  bpv1::PullProgress p;
  while (reader->Read(&p)) {
    if (p.has_resolved()) {
      out << "resolved " << p.resolved().name() << " " << p.resolved().digest() << "\n";
      for (const auto& l : p.resolved().layers()) {
        order.push_back(l.digest());
        lines[l.digest()].total = l.size();
      }
      if (tty) redraw();
    } else if (p.has_layer()) {
      auto& l = lines[p.layer().digest()];
      bool changed = l.status != p.layer().status();
      l.status = p.layer().status();
      l.offset = p.layer().offset();
      l.total = p.layer().total();
      if (tty) {
        redraw();
      } else if (changed) {
        out << Short(p.layer().digest()) << " " << l.status << " " << l.total << " bytes\n";
      }
    } else if (p.has_done()) {
      if (tty) redraw();
      if (image_name != nullptr) *image_name = p.done().image().name();
      out << "done " << p.done().image().name() << " " << p.done().image().target().digest();
      if (!p.done().chain_id().empty()) out << " (snapshot " << p.done().chain_id() << ")";
      out << "\n";
    }
  }
  out.flush();
  grpc::Status s = reader->Finish();
  if (!s.ok() && !host.empty()) {
    Status e = ExplainRegistryError(Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message()), host,
                                    "pull of " + o.ref);
    return grpc::Status(s.error_code(), std::string(e.message()));
  }
  return s;
}

void SetupPull(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("pull", "pull an image into berthd and unpack it");
  static PullOptions o;
  static bool no_unpack = false;
  c->add_option("ref", o.ref, "image reference")->required();
  c->add_flag("--plain-http", o.plain_http, "talk HTTP to the registry");
  c->add_option("--insecure-registry", o.insecure_hosts, "registry host reached over HTTP");
  c->add_option("--platform", o.platform, "platform (os/arch[/variant])");
  c->add_option("--tlscacert", o.tlscacert, "PEM CA of the registry (default: certs.d/<host>/*.crt)");
  c->add_option("--snapshotter", o.snapshotter, "snapshotter to unpack into");
  c->add_flag("--no-unpack", no_unpack, "only fetch the content");
  c->callback([&g] {
    o.unpack = !no_unpack;
    grpc::Status s = PullImage(g, o, std::cout, isatty(1));
    if (!s.ok()) {
      PrintError(s);
      g.exit_code = 1;
    }
  });
}

}  // namespace berth::cli
