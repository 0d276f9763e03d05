// berth system info | df | prune, as docker's:
//   info [--format T]   counts of containers (running/paused/stopped) and images, berthd's
//                       version, storage driver, root, runtime, kernel, OS, CPUs, memory
//   df [-v] [--format T] TYPE TOTAL ACTIVE SIZE RECLAIMABLE for Images (the content store's
//                       blobs that images reference; active = used by a container), Containers
//                       (their snapshots' usage; active = running) and Local Volumes (_data
//                       trees; active = mounted by a container)
//   prune [-a] [--volumes] [-f]   stopped containers, then dangling (-a: unused) images, then
//                       (--volumes) unused anonymous volumes; asks first unless -f
#include <sys/utsname.h>
#include <ftw.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"
#include "cmd/berth/paths.h"
#include "cmd/berth/volumes.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "images/manifest.h"

namespace berth::cli {
namespace {

namespace imv1 = containerd::services::images::v1;
namespace ctv1 = containerd::services::content::v1;
namespace snv1 = containerd::services::snapshots::v1;
namespace vv1 = containerd::services::version::v1;

StatusOr<std::vector<imv1::Image>> Images(const Globals& g) {
  auto stub = imv1::Images::NewStub(Connect(g));
  auto ctx = NewContext(g);
  imv1::ListImagesResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), imv1::ListImagesRequest(), &resp)));
  return std::vector<imv1::Image>(resp.images().begin(), resp.images().end());
}

StatusOr<std::vector<cov1::Container>> Containers(const Globals& g) {
  auto stub = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::ListContainersResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), cov1::ListContainersRequest(), &resp)));
  return std::vector<cov1::Container>(resp.containers().begin(), resp.containers().end());
}

std::string OsName() {
  std::ifstream f("/etc/os-release");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "linux";
}

int64_t TotalMemory() {
  std::ifstream f("/proc/meminfo");
  std::string k;
  int64_t v = 0;
  while (f >> k >> v) {
    if (k == "MemTotal:") return v * 1024;
    f.ignore(256, '\n');
  }
  return 0;
}

Status Info(const Globals& g, const std::string& format) {
  ASSIGN_OR_RETURN(auto cts, Containers(g));
  ASSIGN_OR_RETURN(auto ims, Images(g));
  int running = 0, paused = 0, stopped = 0;
  for (const auto& c : cts) {
    auto t = GetTask(g, c.id());
    ContainerStatus st = StatusOf(c, t.ok() && *t ? &**t : nullptr);
    if (st.state == "running") ++running;
    else if (st.state == "paused") ++paused;
    else ++stopped;
  }
  auto vstub = vv1::Version::NewStub(Connect(g));
  auto ctx = NewContext(g);
  vv1::VersionResponse ver;
  RETURN_IF_ERROR(FromGrpc(vstub->Version(ctx.get(), google::protobuf::Empty(), &ver)));
  utsname u{};
  uname(&u);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  nlohmann::json j = {{"Containers", cts.size()},
                      {"ContainersRunning", running},
                      {"ContainersPaused", paused},
                      {"ContainersStopped", stopped},
                      {"Images", ims.size()},
                      {"ServerVersion", ver.version()},
                      {"Driver", "overlayfs"},
                      {"CgroupVersion", v2 ? "2" : "1"},
                      {"DefaultRuntime", "io.containerd.runc.v2"},
                      {"KernelVersion", u.release},
                      {"OperatingSystem", OsName()},
                      {"OSType", "linux"},
                      {"Architecture", u.machine},
                      {"NCPU", std::thread::hardware_concurrency()},
                      {"MemTotal", TotalMemory()},
                      {"Name", host},
                      {"DockerRootDir", DataRoot(g)},
                      {"Namespace", g.ns},
                      {"Address", g.address}};
  if (!format.empty()) {
    ASSIGN_OR_RETURN(Template t, Template::Parse(format));
    ASSIGN_OR_RETURN(std::string line, t.Render(j));
    std::cout << line << "\n";
    return Status();
  }
  std::cout << "Client:\n Context:    default\n\nServer:\n"
            << " Containers: " << cts.size() << "\n  Running: " << running << "\n  Paused: " << paused
            << "\n  Stopped: " << stopped << "\n Images: " << ims.size() << "\n Server Version: berthd " << ver.version()
            << "\n Storage Driver: overlayfs\n Logging Driver: berth (file)\n Cgroup Version: " << (v2 ? 2 : 1)
            << "\n Runtimes: io.containerd.runc.v2\n Default Runtime: io.containerd.runc.v2\n Kernel Version: " << u.release
            << "\n Operating System: " << OsName() << "\n OSType: linux\n Architecture: " << u.machine
            << "\n CPUs: " << std::thread::hardware_concurrency() << "\n Total Memory: " << HumanSize(TotalMemory())
            << "\n Name: " << host << "\n Berth Root Dir: " << DataRoot(g) << "\n Namespace: " << g.ns
            << "\n berthd Address: " << g.address << "\n";
  return Status();
}

int64_t g_du = 0;
int64_t DiskUsage(const std::string& dir) {
  g_du = 0;
  nftw(dir.c_str(), [](const char*, const struct stat* st, int type, FTW*) {
    if (type == FTW_F) g_du += st->st_blocks * 512;
    return 0;
  }, 32, FTW_PHYS | FTW_MOUNT);
  return g_du;
}

struct ImageUse {
  std::set<std::string> blobs;  // every digest the image's manifests reference
};

// The blobs under one image's root that are in the store (manifests, configs, layers).
void CollectBlobs(const Globals& g, const std::string& digest, const std::string& media_type, std::set<std::string>& out,
                  int depth = 0) {
  if (depth > 4 || !out.insert(digest).second) return;
  auto body = ReadBlob(g, digest);
  if (!body.ok()) {
    out.erase(digest);
    return;
  }
  auto children = images::Children(media_type, *body);
  if (!children.ok()) return;
  for (const auto& c : *children) {
    if (images::IsManifestType(c.media_type) || images::IsIndexType(c.media_type)) {
      CollectBlobs(g, c.digest, c.media_type, out, depth + 1);
    } else {
      out.insert(c.digest);
    }
  }
}

Status Df(const Globals& g, bool verbose, const std::string& format) {
  ASSIGN_OR_RETURN(auto cts, Containers(g));
  ASSIGN_OR_RETURN(auto ims, Images(g));
  std::map<std::string, int64_t> sizes;
  {
    auto stub = ctv1::Content::NewStub(Connect(g));
    auto ctx = NewContext(g);
    auto reader = stub->List(ctx.get(), ctv1::ListContentRequest());
    ctv1::ListContentResponse resp;
    while (reader->Read(&resp)) {
      for (const auto& i : resp.info()) sizes[i.digest()] = i.size();
    }
    RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  }
  std::set<std::string> used_images;
  for (const auto& c : cts) used_images.insert(c.image());
  std::set<std::string> all_blobs, active_blobs;
  int active_images = 0;
  std::vector<std::vector<std::string>> image_rows;
  for (const auto& im : ims) {
    std::set<std::string> b;
    CollectBlobs(g, im.target().digest(), im.target().media_type(), b);
    int64_t sz = 0;
    for (const auto& d : b) sz += sizes.count(d) ? sizes[d] : 0;
    all_blobs.insert(b.begin(), b.end());
    bool active = used_images.count(im.name()) != 0;
    if (active) {
      ++active_images;
      active_blobs.insert(b.begin(), b.end());
    }
    image_rows.push_back({im.name(), ShortId(im.target().digest().substr(7)), HumanSize(sz), active ? "1" : "0"});
  }
  int64_t img_total = 0, img_active = 0;
  for (const auto& d : all_blobs) img_total += sizes.count(d) ? sizes[d] : 0;
  for (const auto& d : active_blobs) img_active += sizes.count(d) ? sizes[d] : 0;

  auto snap = snv1::Snapshots::NewStub(Connect(g));
  int running = 0;
  int64_t ct_total = 0, ct_reclaim = 0;
  std::vector<std::vector<std::string>> ct_rows;
  for (const auto& c : cts) {
    auto ctx = NewContext(g);
    snv1::UsageRequest req;
    req.set_snapshotter(c.snapshotter().empty() ? "overlayfs" : c.snapshotter());
    req.set_key(c.snapshot_key());
    snv1::UsageResponse u;
    int64_t sz = snap->Usage(ctx.get(), req, &u).ok() ? u.size() : 0;
    auto t = GetTask(g, c.id());
    bool live = t.ok() && IsLive(*t);
    running += live;
    ct_total += sz;
    if (!live) ct_reclaim += sz;
    ct_rows.push_back({ShortId(c.id()), c.image(), HumanSize(sz), live ? "running" : "stopped"});
  }
  ASSIGN_OR_RETURN(auto vols, ListVolumes(g));
  ASSIGN_OR_RETURN(auto inuse, VolumesInUse(g));
  int64_t vol_total = 0, vol_reclaim = 0;
  int vol_active = 0;
  std::vector<std::vector<std::string>> vol_rows;
  for (const auto& v : vols) {
    int64_t sz = DiskUsage(v.mountpoint);
    bool active = inuse.count(v.name) != 0;
    vol_active += active;
    vol_total += sz;
    if (!active) vol_reclaim += sz;
    vol_rows.push_back({v.name, std::to_string(active ? inuse[v.name].size() : 0), HumanSize(sz)});
  }
  auto pct = [](int64_t part, int64_t whole) {
    return whole > 0 ? StrCat(HumanSize(part), " (", part * 100 / whole, "%)") : HumanSize(part);
  };
  std::vector<nlohmann::json> rows = {
      {{"Type", "Images"}, {"TotalCount", ims.size()}, {"Active", active_images}, {"Size", HumanSize(img_total)},
       {"Reclaimable", pct(img_total - img_active, img_total)}},
      {{"Type", "Containers"}, {"TotalCount", cts.size()}, {"Active", running}, {"Size", HumanSize(ct_total)},
       {"Reclaimable", pct(ct_reclaim, ct_total)}},
      {{"Type", "Local Volumes"}, {"TotalCount", vols.size()}, {"Active", vol_active}, {"Size", HumanSize(vol_total)},
       {"Reclaimable", pct(vol_reclaim, vol_total)}}};
  if (!format.empty()) {
    ASSIGN_OR_RETURN(Template t, Template::Parse(format, {{"TotalCount", "TOTAL"}}));
    return PrintFormatted(t, rows);
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({r["Type"], std::to_string(r["TotalCount"].get<int64_t>()), std::to_string(r["Active"].get<int64_t>()),
                     r["Size"], r["Reclaimable"]});
  }
  PrintTable({"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}, table);
  if (verbose) {
    std::cout << "\nImages space usage:\n\n";
    PrintTable({"REPOSITORY", "IMAGE ID", "SIZE", "CONTAINERS"}, image_rows);
    std::cout << "\nContainers space usage:\n\n";
    PrintTable({"CONTAINER ID", "IMAGE", "SIZE", "STATUS"}, ct_rows);
    std::cout << "\nLocal Volumes space usage:\n\n";
    PrintTable({"VOLUME NAME", "LINKS", "SIZE"}, vol_rows);
  }
  return Status();
}

Status Prune(const Globals& g, bool all, bool volumes, bool force) {
  if (!force) {
    std::cout << "WARNING! This will remove:\n  - all stopped containers\n"
              << (volumes ? "  - all anonymous volumes not used by at least one container\n" : "")
              << (all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n")
              << "\nAre you sure you want to continue? [y/N] " << std::flush;
    std::string ans;
    std::getline(std::cin, ans);
    if (ans != "y" && ans != "Y" && ans != "yes") return Status();
  }
  ASSIGN_OR_RETURN(auto cts, Containers(g));
  std::vector<std::string> gone;
  Status first;
  for (const auto& c : cts) {
    auto t = GetTask(g, c.id());
    if (!t.ok() || IsLive(*t)) continue;
    Status s = RemoveContainer(g, c, false);
    if (s.ok()) gone.push_back(c.id());
    else if (first.ok()) first = s;
  }
  if (!gone.empty()) {
    std::cout << "Deleted Containers:\n";
    for (const auto& id : gone) std::cout << id << "\n";
    std::cout << "\n";
  }
  ASSIGN_OR_RETURN(cts, Containers(g));
  std::set<std::string> used;
  for (const auto& c : cts) used.insert(c.image());
  ASSIGN_OR_RETURN(auto ims, Images(g));
  auto stub = imv1::Images::NewStub(Connect(g));
  std::vector<std::string> untagged;
  for (const auto& im : ims) {
    bool dangling = im.name().find('@') != std::string::npos;
    if (used.count(im.name()) || (!all && !dangling)) continue;
    auto ctx = NewContext(g);
    imv1::DeleteImageRequest req;
    req.set_name(im.name());
    google::protobuf::Empty e;
    Status s = FromGrpc(stub->Delete(ctx.get(), req, &e));
    if (s.ok()) untagged.push_back(im.name());
    else if (first.ok()) first = s;
  }
  if (!untagged.empty()) {
    std::cout << "Deleted Images:\n";
    for (const auto& n : untagged) std::cout << "untagged: " << n << "\n";
    std::cout << "\n";
  }
  if (volumes) {
    ASSIGN_OR_RETURN(auto vols, ListVolumes(g));
    ASSIGN_OR_RETURN(auto inuse, VolumesInUse(g));
    std::vector<std::string> vgone;
    for (const auto& v : vols) {
      if (inuse.count(v.name) || !v.labels.count(kLabelVolumeAnonymous)) continue;
      Status s = RemoveVolume(g, v.name);
      if (s.ok()) vgone.push_back(v.name);
      else if (first.ok()) first = s;
    }
    if (!vgone.empty()) {
      std::cout << "Deleted Volumes:\n";
      for (const auto& n : vgone) std::cout << n << "\n";
      std::cout << "\n";
    }
  }
  std::cout << "Deleted: " << gone.size() << " container(s), " << untagged.size() << " image(s)\n";
  return first;
}

}  // namespace

void SetupSystem(CLI::App& app, Globals& g) {
  auto* sys = app.add_subcommand("system", "berthd-wide information and cleanup (info, df, prune)");
  sys->require_subcommand(1);
  static std::string info_format, df_format;
  static bool df_verbose = false, all = false, volumes = false, force = false;
  auto* info = sys->add_subcommand("info", "show system-wide information");
  info->add_option("-f,--format", info_format, "Go template over docker's info object, e.g. '{{json .}}'");
  info->callback([&g] {
    if (Status s = Info(g, info_format); !s.ok()) g.exit_code = Fail(s, 1);
  });
  // docker's top-level alias.
  auto* info_alias = app.add_subcommand("info", "show system-wide information (as system info)");
  info_alias->add_option("-f,--format", info_format, "Go template over docker's info object, e.g. '{{json .}}'");
  info_alias->callback([&g] {
    if (Status s = Info(g, info_format); !s.ok()) g.exit_code = Fail(s, 1);
  });
  auto* df = sys->add_subcommand("df", "show disk usage of images, containers and volumes");
  df->add_flag("-v,--verbose", df_verbose, "show per-image, per-container and per-volume usage");
  df->add_option("--format", df_format, "Go template over each row (Type, TotalCount, Active, Size, Reclaimable)");
  df->callback([&g] {
    if (Status s = Df(g, df_verbose, df_format); !s.ok()) g.exit_code = Fail(s, 1);
  });
  auto* prune = sys->add_subcommand("prune", "remove stopped containers, dangling images and (--volumes) unused volumes");
  prune->add_flag("-a,--all", all, "remove every image no container uses, not only dangling ones");
  prune->add_flag("--volumes", volumes, "also remove anonymous volumes no container uses");
  prune->add_flag("-f,--force", force, "do not ask for confirmation");
  prune->callback([&g] {
    if (Status s = Prune(g, all, volumes, force); !s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
