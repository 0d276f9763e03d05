// berth push IMAGE: uploads an image from berthd's content store to its registry, client-side
// as nerdctl does (Content.Read streams -> the distribution API's upload flow):
//   every config and layer: HEAD the blob, "Layer already exists" when present, else a
//   monolithic upload (POST + PUT ?digest=); then manifests bottom-up by digest and the root
//   under the reference's tag. Progress: redrawn bars on a terminal, one line per state otherwise;
//   last line as docker's "<tag>: digest: sha256:... size: N".
// Credentials and CA as pull's (cmd/berth/registry_auth.h).
#include <unistd.h>

#include <iostream>
#include <map>

#include "cmd/berth/containers.h"
#include "cmd/berth/image_io.h"
#include "cmd/berth/registry_auth.h"
#include "remotes/reference.h"
#include "remotes/registry.h"

namespace berth::cli {
namespace {

std::string Short(const std::string& digest) {
  return digest.rfind("sha256:", 0) == 0 ? digest.substr(7, 12) : digest.substr(0, 12);
}

struct PushOpts {
  std::string image, tlscacert;
  bool plain_http = false;
  std::vector<std::string> insecure;
  bool quiet = false;
};

Status Push(const Globals& g, const PushOpts& o, std::ostream& out, bool tty) {
  ASSIGN_OR_RETURN(imv1::Image img, GetImageRecord(g, o.image));
  ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(img.name()));
  ASSIGN_OR_RETURN(RegistryAccess access, AccessFor(ref.domain, o.tlscacert));
  remotes::RegistryOptions ro;
  ro.plain_http = o.plain_http;
  ro.insecure_hosts = o.insecure;
  ro.username = access.username;
  ro.password = access.password;
  ro.ca_pem = access.ca_pem;
  remotes::Registry reg(ro);

  images::Descriptor root;
  root.media_type = img.target().media_type();
  root.digest = img.target().digest();
  root.size = img.target().size();
  int skipped = 0;
  ASSIGN_OR_RETURN(std::vector<ImageBlob> blobs, ImageBlobs(g, root, &skipped));
  if (!o.quiet) out << "The push refers to repository [" << ref.domain << "/" << ref.repository << "]\n";
  if (skipped > 0 && !o.quiet) out << "skipping " << skipped << " platform manifest(s) not in the content store\n";

  std::map<std::string, std::string> state;
  std::vector<std::string> order;
  for (const auto& b : blobs) {
    if (!b.is_manifest) order.push_back(b.desc.digest);
  }
  int drawn = 0;
  auto show = [&](const std::string& d, const std::string& st, bool final_line) {
    state[d] = st;
    if (o.quiet) return;
    if (!tty) {
      if (final_line) out << Short(d) << ": " << st << "\n" << std::flush;
      return;
    }
    if (drawn > 0) out << "\033[" << drawn << "A";
    for (const auto& x : order) out << "\033[2K" << Short(x) << ": " << state[x] << "\n";
    drawn = static_cast<int>(order.size());
    out.flush();
  };
  for (const auto& d : order) state[d] = "Waiting";
  for (const auto& b : blobs) {
    if (b.is_manifest) continue;
    const auto& d = b.desc;
    ASSIGN_OR_RETURN(bool exists, reg.BlobExists(ref, d.digest));
    if (exists) {
      show(d.digest, "Layer already exists", true);
      continue;
    }
    ContentSource src(g, d.digest);
    int64_t last = -1;
    RETURN_IF_ERROR(reg.PushBlob(ref, d, src, [&](int64_t sent) {
      if (!tty) return;
      int64_t pct = d.size > 0 ? sent * 100 / d.size : 100;
      if (pct == last) return;
      last = pct;
      const int w = 30;
      int fill = static_cast<int>(w * pct / 100);
      show(d.digest, "Pushing [" + std::string(fill, '=') + std::string(w - fill, ' ') + "] " + HumanSize(sent) + "/" +
                         HumanSize(d.size), false);
    }));
    show(d.digest, "Pushed", true);
  }
  // Manifests: children before the index that lists them, the root last, under the tag.
  for (auto it = blobs.rbegin(); it != blobs.rend(); ++it) {
    if (!it->is_manifest) continue;
    ASSIGN_OR_RETURN(std::string body, ReadBlob(g, it->desc.digest));
    bool is_root = it->desc.digest == root.digest;
    std::string object = is_root && !ref.tag.empty() && ref.digest.empty() ? ref.tag : it->desc.digest;
    RETURN_IF_ERROR(reg.PushManifest(ref, object, it->desc.media_type, body));
  }
  out << (ref.tag.empty() ? root.digest : ref.tag) << ": digest: " << root.digest << " size: " << root.size << "\n";
  return Status();
}

}  // namespace

void SetupPush(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("push", "push an image to its registry (credentials from berth login)");
  static PushOpts o;
  c->add_option("image", o.image, "image name (its registry is the reference's host)")->required();
  c->add_option("--tlscacert", o.tlscacert, "PEM CA of the registry (default: certs.d/<host>/*.crt)");
  c->add_flag("--plain-http", o.plain_http, "talk HTTP to the registry");
  c->add_option("--insecure-registry", o.insecure, "registry host reached over HTTP");
  c->add_flag("-q,--quiet", o.quiet, "print only the final digest line");
  c->callback([&g] {
    auto ref = remotes::ParseReference(o.image);
    Status s = Push(g, o, std::cout, isatty(1));
    if (!s.ok()) {
      s = ExplainRegistryError(s, ref.ok() ? ref->domain : o.image, "push of " + o.image);
      std::cerr << "berth: " << s.message() << "\n";
      g.exit_code = 1;
    }
  });
}

}  // namespace berth::cli
