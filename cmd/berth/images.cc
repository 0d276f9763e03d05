// berth images: a table of the namespace's images (REPOSITORY TAG DIGEST SIZE CREATED) or JSON.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cmd/berth/containers.h"
#include "containerd/services/images/v1/images.grpc.pb.h"

namespace berth::cli {
namespace {

namespace imv1 = containerd::services::images::v1;

// Size of the image for the default platform: config plus layers, as `ctr images ls` shows.
int64_t ImageSize(const Globals& g, const imv1::Image& im) {
  auto man = PlatformManifest(g, im.target().digest(), im.target().media_type());
  if (!man.ok()) return -1;
  int64_t total = man->config.size;
  for (const auto& l : man->layers) total += l.size;
  return total;
}

}  // namespace

void SetupImages(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("images", "list images");
  static std::string format;
  static bool quiet = false;
  c->add_option("--format", format, "output format: table (default) or json");
  c->add_flag("-q,--quiet", quiet, "print only names");
  c->callback([&g] {
    auto ch = Connect(g);
    auto images = imv1::Images::NewStub(ch);
    auto ctx = NewContext(g);
    imv1::ListImagesRequest req;
    imv1::ListImagesResponse resp;
    grpc::Status s = images->List(ctx.get(), req, &resp);
    if (!s.ok()) {
      PrintError(s);
      g.exit_code = 1;
      return;
    }
    if (quiet) {
      for (const auto& im : resp.images()) std::cout << im.name() << "\n";
      return;
    }
    nlohmann::json arr = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& im : resp.images()) {
      std::string name = im.name(), repo = name, tag = "<none>";
      size_t at = name.find('@');
      std::string base = at == std::string::npos ? name : name.substr(0, at);
      size_t colon = base.rfind(':'), slash = base.rfind('/');
      if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        repo = base.substr(0, colon), tag = base.substr(colon + 1);
      } else {
        repo = base;
      }
      int64_t size = ImageSize(g, im);
      int64_t created = im.created_at().seconds();
      if (format == "json") {
        arr.push_back({{"name", name}, {"repository", repo}, {"tag", tag}, {"digest", im.target().digest()},
                       {"media_type", im.target().media_type()}, {"size", size}, {"created", created}});
      } else {
        std::string dg = im.target().digest();
        if (dg.rfind("sha256:", 0) == 0) dg = dg.substr(7, 12);
        rows.push_back({repo, tag, dg, size < 0 ? "-" : HumanSize(size), HumanAge(created)});
      }
    }
    if (format == "json") {
      std::cout << arr.dump(2) << "\n";
      return;
    }
    PrintTable({"REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED"}, rows);
  });
}

void SetupRmi(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("rmi", "remove images");
  static std::vector<std::string> names;
  static bool sync = false;
  c->add_option("image", names, "image names")->required();
  c->add_flag("--sync", sync, "wait for garbage collection");
  c->callback([&g] {
    auto stub = imv1::Images::NewStub(Connect(g));
    for (size_t i = 0; i < names.size(); ++i) {
      auto ctx = NewContext(g);
      imv1::DeleteImageRequest req;
      req.set_name(names[i]);
      req.set_sync(sync && i + 1 == names.size());
      google::protobuf::Empty resp;
      grpc::Status s = stub->Delete(ctx.get(), req, &resp);
      if (!s.ok()) {
        PrintError(s);
        g.exit_code = 1;
        continue;
      }
      std::cout << names[i] << "\n";
    }
  });
}

}  // namespace berth::cli
