// berth save -o FILE IMAGE... / berth load [-i FILE], as docker's and nerdctl's:
//   save writes one tar holding an OCI image layout (oci-layout, index.json, blobs/sha256/...)
//   and, unless --format oci, docker's manifest.json beside it (Config/Layers pointing into
//   blobs/, RepoTags), the layout containerd's exporter writes: `docker load`, `ctr import`
//   and `berth load` all read it, and a save -> load keeps every digest.
//   load reads such a tar, a plain OCI layout tar, or a classic docker-archive (`docker save`,
//   skopeo's docker-archive: <id>/layer.tar files and <hex>.json configs, for which a Docker
//   schema 2 manifest is made, as containerd's importer does), gzip-compressed or not, from a
//   file or stdin. Blobs go in through Content.Write, records through Images.Create (Update
//   when the name exists), then each image is unpacked into the snapshotter client-side
//   (Snapshots + Diff) as ctr does. All of it under a temporary lease.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cmd/berth/containers.h"
#include "cmd/berth/image_io.h"
#include "common/digest.h"
#include "remotes/reference.h"

namespace berth::cli {
namespace {

using nlohmann::json;

std::string Hex(const std::string& digest) { return digest.substr(digest.find(':') + 1); }
std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + Hex(digest); }

// docker's familiar form: "docker.io/library/busybox:latest" -> "busybox:latest".
std::string Familiar(const std::string& name) {
  for (const char* p : {"docker.io/library/", "docker.io/"}) {
    if (name.rfind(p, 0) == 0) return name.substr(std::strlen(p));
  }
  return name;
}

json DescJson(const images::Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

// ---- save ----

class TarWriter {
 public:
  explicit TarWriter(const std::string& path) {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (path == "-") {
      ok_ = archive_write_open_fd(a_, 1) == ARCHIVE_OK;
    } else {
      ok_ = archive_write_open_filename(a_, path.c_str()) == ARCHIVE_OK;
    }
  }
  ~TarWriter() {
    if (a_ != nullptr) archive_write_free(a_);
  }
  Status Opened(const std::string& path) {
    return ok_ ? Status() : absl::InvalidArgumentError(StrCat("open ", path, ": ", archive_error_string(a_)));
  }
  Status Header(const std::string& name, int64_t size, mode_t type = AE_IFREG) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(e, 0, 0);
    int rc = archive_write_header(a_, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return absl::InternalError(StrCat("tar ", name, ": ", archive_error_string(a_)));
    return Status();
  }
  Status Data(const char* p, size_t n) {
    if (archive_write_data(a_, p, n) < 0) return absl::InternalError(StrCat("tar: ", archive_error_string(a_)));
    return Status();
  }
  Status File(const std::string& name, const std::string& body) {
    RETURN_IF_ERROR(Header(name, static_cast<int64_t>(body.size())));
    return Data(body.data(), body.size());
  }
  Status Close() {
    int rc = archive_write_close(a_);
    if (rc != ARCHIVE_OK) return absl::InternalError(StrCat("tar: ", archive_error_string(a_)));
    return Status();
  }

 private:
  archive* a_ = nullptr;
  bool ok_ = false;
};

Status Save(const Globals& g, const std::vector<std::string>& names, const std::string& out, bool oci_only) {
  struct One {
    imv1::Image rec;
    images::Descriptor root;
    std::vector<ImageBlob> blobs;
  };
  std::vector<One> imgs;
  for (const auto& n : names) {
    One o;
    ASSIGN_OR_RETURN(o.rec, GetImageRecord(g, n));
    o.root.media_type = o.rec.target().media_type();
    o.root.digest = o.rec.target().digest();
    o.root.size = o.rec.target().size();
    ASSIGN_OR_RETURN(o.blobs, ImageBlobs(g, o.root));
    imgs.push_back(std::move(o));
  }
  if (out.empty() && isatty(1)) {
    return absl::InvalidArgumentError("cowardly refusing to write a tar to a terminal; use -o FILE or redirect stdout");
  }
  TarWriter tw(out.empty() ? "-" : out);
  RETURN_IF_ERROR(tw.Opened(out));
  RETURN_IF_ERROR(tw.Header("blobs/", 0, AE_IFDIR));
  RETURN_IF_ERROR(tw.Header("blobs/sha256/", 0, AE_IFDIR));
  std::set<std::string> written;
  json index = {{"schemaVersion", 2}, {"mediaType", images::kOciIndex}, {"manifests", json::array()}};
  json docker = json::array();
  for (const auto& o : imgs) {
    for (const auto& b : o.blobs) {
      if (!written.insert(b.desc.digest).second) continue;
      RETURN_IF_ERROR(tw.Header(BlobPath(b.desc.digest), b.desc.size));
      int64_t n = 0;
      RETURN_IF_ERROR(StreamBlob(g, b.desc.digest, [&](const std::string& chunk) {
        n += static_cast<int64_t>(chunk.size());
        if (n > b.desc.size) return absl::DataLossError(StrCat("blob ", b.desc.digest, " larger than its descriptor"));
        return tw.Data(chunk.data(), chunk.size());
      }));
      if (n != b.desc.size) return absl::DataLossError(StrCat("blob ", b.desc.digest, ": read ", n, " of ", b.desc.size, " bytes"));
    }
    images::Descriptor d = o.root;
    d.annotations["io.containerd.image.name"] = o.rec.name();
    auto ref = remotes::ParseReference(o.rec.name());
    if (ref.ok() && !ref->tag.empty()) d.annotations["org.opencontainers.image.ref.name"] = ref->tag;
    index["manifests"].push_back(DescJson(d));
    // docker's manifest.json: the manifest of this host's platform.
    auto man = PlatformManifest(g, o.root.digest, o.root.media_type);
    if (man.ok()) {
      json e = {{"Config", BlobPath(man->config.digest)}, {"RepoTags", json::array()}, {"Layers", json::array()}};
      if (ref.ok() && !ref->tag.empty()) e["RepoTags"].push_back(Familiar(o.rec.name()));
      for (const auto& l : man->layers) e["Layers"].push_back(BlobPath(l.digest));
      docker.push_back(e);
    }
  }
  RETURN_IF_ERROR(tw.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  RETURN_IF_ERROR(tw.File("index.json", index.dump()));
  if (!oci_only) RETURN_IF_ERROR(tw.File("manifest.json", docker.dump()));
  return tw.Close();
}

// ---- load ----

class TarReader {
 public:
  explicit TarReader(const std::string& path) {
    a_ = archive_read_new();
    archive_read_support_format_tar(a_);
    archive_read_support_filter_all(a_);
    ok_ = archive_read_open_filename(a_, path.c_str(), 1 << 16) == ARCHIVE_OK;
  }
  ~TarReader() { archive_read_free(a_); }
  Status Opened(const std::string& path) {
    return ok_ ? Status() : absl::InvalidArgumentError(StrCat("open ", path, ": ", archive_error_string(a_)));
  }
  // Next regular file: its normalised name; "" at the end.
  StatusOr<std::string> Next() {
    for (;;) {
      archive_entry* e;
      int rc = archive_read_next_header(a_, &e);
      if (rc == ARCHIVE_EOF) return std::string();
      if (rc < ARCHIVE_WARN) return absl::InvalidArgumentError(StrCat("read archive: ", archive_error_string(a_)));
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      std::string n = archive_entry_pathname(e);
      while (n.rfind("./", 0) == 0) n = n.substr(2);
      while (!n.empty() && n[0] == '/') n = n.substr(1);
      return n;
    }
  }
  Status Each(const std::function<Status(const char*, size_t)>& f) {
    char buf[1 << 16];
    for (;;) {
      la_ssize_t n = archive_read_data(a_, buf, sizeof buf);
      if (n < 0) return absl::InvalidArgumentError(StrCat("read archive: ", archive_error_string(a_)));
      if (n == 0) return Status();
      RETURN_IF_ERROR(f(buf, static_cast<size_t>(n)));
    }
  }

 private:
  archive* a_;
  bool ok_ = false;
};

struct Entry {
  std::string digest;
  int64_t size = 0;
  std::string head;  // first bytes (compression sniffing)
  std::string body;  // whole content when small
};

struct LoadedImage {
  std::string name;
  images::Descriptor target;
};

const int64_t kKeepBody = 4 << 20;

std::string LayerTypeOf(const std::string& head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) {
    return images::kDockerLayerGzip;
  }
  if (head.size() >= 4 && head.compare(0, 4, "\x28\xb5\x2f\xfd") == 0) return "application/vnd.docker.image.rootfs.diff.tar.zstd";
  return images::kDockerLayer;
}

// Labels that keep a manifest's or index's children alive (containerd's GC references).
std::map<std::string, std::string> GcLabels(const std::string& media_type, const std::string& body) {
  std::map<std::string, std::string> labels;
  if (images::IsIndexType(media_type)) {
    auto ix = images::ParseIndex(body);
    if (ix.ok()) {
      for (size_t i = 0; i < ix->manifests.size(); ++i) {
        labels[StrCat("containerd.io/gc.ref.content.m.", i)] = ix->manifests[i].digest;
      }
    }
  } else if (images::IsManifestType(media_type)) {
    auto m = images::ParseManifest(body);
    if (m.ok()) {
      labels["containerd.io/gc.ref.content.config"] = m->config.digest;
      for (size_t i = 0; i < m->layers.size(); ++i) labels[StrCat("containerd.io/gc.ref.content.l.", i)] = m->layers[i].digest;
    }
  }
  return labels;
}

Status CreateOrUpdate(const Globals& g, const LoadedImage& li) {
  auto stub = imv1::Images::NewStub(Connect(g));
  imv1::Image img;
  img.set_name(li.name);
  img.mutable_target()->set_media_type(li.target.media_type);
  img.mutable_target()->set_digest(li.target.digest);
  img.mutable_target()->set_size(li.target.size);
  {
    auto ctx = NewContext(g);
    imv1::CreateImageRequest req;
    *req.mutable_image() = img;
    imv1::CreateImageResponse resp;
    Status s = FromGrpc(stub->Create(ctx.get(), req, &resp));
    if (!absl::IsAlreadyExists(s)) return s;
  }
  auto ctx = NewContext(g);
  imv1::UpdateImageRequest req;
  *req.mutable_image() = img;
  req.mutable_update_mask()->add_paths("target");
  imv1::UpdateImageResponse resp;
  return FromGrpc(stub->Update(ctx.get(), req, &resp));
}

Status Load(const Globals& g, std::string input, bool quiet) {
  std::string tmp;
  if (input.empty() || input == "-") {
    if (isatty(0)) return absl::InvalidArgumentError("requested load from stdin, but stdin is a terminal; use -i FILE");
    const char* td = std::getenv("TMPDIR");
    tmp = StrCat(td != nullptr && *td != '\0' ? td : "/tmp", "/berth-load-XXXXXX");
    int fd = mkstemp(tmp.data());
    if (fd < 0) return absl::InternalError("mkstemp failed");
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      if (write(fd, buf, static_cast<size_t>(n)) != n) {
        close(fd);
        unlink(tmp.c_str());
        return absl::InternalError("write temporary file failed");
      }
    }
    close(fd);
    input = tmp;
  }
  struct Unlink {
    std::string p;
    ~Unlink() {
      if (!p.empty()) unlink(p.c_str());
    }
  } unlink_tmp{tmp};

  // Pass 1: every file's digest and size; small files kept.
  std::map<std::string, Entry> files;
  {
    TarReader tr(input);
    RETURN_IF_ERROR(tr.Opened(input));
    for (;;) {
      ASSIGN_OR_RETURN(std::string name, tr.Next());
      if (name.empty()) break;
      Entry e;
      Sha256 h;
      RETURN_IF_ERROR(tr.Each([&](const char* p, size_t n) {
        h.Update(p, n);
        if (e.head.size() < 8) e.head.append(p, std::min<size_t>(n, 8 - e.head.size()));
        if (e.size + static_cast<int64_t>(n) <= kKeepBody) e.body.append(p, n);
        e.size += static_cast<int64_t>(n);
        return Status();
      }));
      if (e.size > kKeepBody) e.body.clear();
      e.digest = h.Current().str();
      files[name] = std::move(e);
    }
  }

  std::map<std::string, std::string> import;  // path in the tar -> digest to store it as
  std::map<std::string, std::string> extra;   // digest -> bytes made here (docker manifests)
  std::map<std::string, std::string> media;   // digest -> media type of manifests and indexes
  std::vector<LoadedImage> loaded;
  auto body_of = [&](const std::string& digest) -> const std::string* {
    if (auto it = extra.find(digest); it != extra.end()) return &it->second;
    auto it = files.find(BlobPath(digest));
    return it == files.end() || it->second.body.size() != static_cast<size_t>(it->second.size) ? nullptr : &it->second.body;
  };

  if (files.count("index.json") != 0) {
    for (const auto& [path, e] : files) {
      if (path.rfind("blobs/sha256/", 0) != 0) continue;
      if ("sha256:" + path.substr(13) != e.digest) return absl::DataLossError(StrCat(path, ": digest mismatch"));
      import[path] = e.digest;
    }
    ASSIGN_OR_RETURN(images::Index ix, images::ParseIndex(files["index.json"].body));
    for (const auto& d : ix.manifests) {
      std::string name;
      if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) {
        name = it->second;
      } else if (auto it2 = d.annotations.find("org.opencontainers.image.ref.name"); it2 != d.annotations.end()) {
        auto ref = remotes::ParseReference(it2->second);
        if (ref.ok() && it2->second.find_first_of("/:") != std::string::npos) name = ref->String();
      }
      if (name.empty()) {
        std::cerr << "berth: skipping " << d.digest << " of index.json: it has no image name\n";
        continue;
      }
      loaded.push_back({name, d});
    }
    // Manifests and indexes below the roots, for their GC labels.
    std::function<void(const images::Descriptor&, int)> walk = [&](const images::Descriptor& d, int depth) {
      const std::string* b = body_of(d.digest);
      if (b == nullptr || depth > 8) return;
      media[d.digest] = d.media_type;
      if (images::IsIndexType(d.media_type)) {
        auto ix2 = images::ParseIndex(*b);
        if (ix2.ok()) {
          for (const auto& c : ix2->manifests) walk(c, depth + 1);
        }
      }
    };
    for (const auto& li : loaded) walk(li.target, 0);
  } else if (files.count("manifest.json") != 0) {
    json dm;
    try {
      dm = json::parse(files["manifest.json"].body);
    } catch (const json::exception& e) {
      return absl::InvalidArgumentError(StrCat("manifest.json: ", e.what()));
    }
    if (!dm.is_array()) return absl::InvalidArgumentError("manifest.json: not an array");
    for (const auto& m : dm) {
      auto cfg = files.find(m.value("Config", ""));
      if (cfg == files.end()) return absl::InvalidArgumentError(StrCat("manifest.json: config ", m.value("Config", ""), " not in the archive"));
      import[cfg->first] = cfg->second.digest;
      json man = {{"schemaVersion", 2},
                  {"mediaType", images::kDockerManifest},
                  {"config", {{"mediaType", images::kDockerConfig}, {"size", cfg->second.size}, {"digest", cfg->second.digest}}},
                  {"layers", json::array()}};
      for (const auto& l : m.value("Layers", json::array())) {
        auto lf = files.find(l.get<std::string>());
        if (lf == files.end()) return absl::InvalidArgumentError(StrCat("manifest.json: layer ", l.get<std::string>(), " not in the archive"));
        import[lf->first] = lf->second.digest;
        man["layers"].push_back({{"mediaType", LayerTypeOf(lf->second.head)}, {"size", lf->second.size}, {"digest", lf->second.digest}});
      }
      std::string body = man.dump(3);
      images::Descriptor d{images::kDockerManifest, Sha256::Of(body).str(), static_cast<int64_t>(body.size()), {}, {}, {}};
      extra[d.digest] = body;
      media[d.digest] = d.media_type;
      for (const auto& t : m.value("RepoTags", json::array())) {
        auto ref = remotes::ParseReference(t.get<std::string>());
        if (!ref.ok()) return absl::InvalidArgumentError(StrCat("manifest.json: RepoTags ", t.get<std::string>(), ": ", ref.status().message()));
        loaded.push_back({ref->String(), d});
      }
      if (m.value("RepoTags", json::array()).empty()) {
        std::cerr << "berth: loaded an untagged image (config " << cfg->second.digest << "); it gets no name\n";
      }
    }
  } else {
    return absl::InvalidArgumentError("not an image archive: neither index.json nor manifest.json in it");
  }

  TempLease lease(g);
  // Pass 2: the blobs.
  {
    TarReader tr(input);
    RETURN_IF_ERROR(tr.Opened(input));
    std::set<std::string> done;
    for (;;) {
      ASSIGN_OR_RETURN(std::string name, tr.Next());
      if (name.empty()) break;
      auto it = import.find(name);
      if (it == import.end() || !done.insert(it->second).second) continue;
      const Entry& e = files[name];
      RETURN_IF_ERROR(WriteBlob(g, it->second, e.size, [&](const std::function<Status(const char*, size_t)>& sink) {
        return tr.Each(sink);
      }, {}, lease.id()));
    }
  }
  for (const auto& [digest, body] : extra) {
    RETURN_IF_ERROR(WriteBlob(g, digest, static_cast<int64_t>(body.size()), [&](const std::function<Status(const char*, size_t)>& sink) {
      return sink(body.data(), body.size());
    }, {}, lease.id()));
  }
  // GC references, children before parents are irrelevant: labels only name digests.
  for (const auto& [digest, mt] : media) {
    const std::string* b = body_of(digest);
    if (b == nullptr) continue;
    auto labels = GcLabels(mt, *b);
    if (!labels.empty()) RETURN_IF_ERROR(LabelBlob(g, digest, labels));
  }
  auto backend = NewRemoteUnpackBackend(g, "overlayfs", lease.id());
  for (const auto& li : loaded) {
    RETURN_IF_ERROR(CreateOrUpdate(g, li));
    images::UnpackOptions uo;
    auto un = images::Unpack(*backend, li.target, uo);
    if (!un.ok()) {
      std::cerr << "berth: " << li.name << ": unpack: " << un.status().message() << "\n";
    }
    if (!quiet) std::cout << "Loaded image: " << Familiar(li.name) << "\n";
  }
  return Status();
}

}  // namespace

void SetupSave(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("save", "save images to a tar archive (OCI layout + docker manifest.json)");
  static std::vector<std::string> names;
  static std::string out, format = "docker";
  c->add_option("image", names, "images to save")->required();
  c->add_option("-o,--output", out, "write to FILE instead of stdout");
  c->add_option("--format", format, "docker (OCI layout plus docker's manifest.json) or oci")
      ->check(CLI::IsMember({"docker", "oci"}));
  c->callback([&g] {
    Status s = Save(g, names, out, format == "oci");
    if (!s.ok()) {
      std::cerr << "berth: " << s.message() << "\n";
      if (!out.empty()) unlink(out.c_str());
      g.exit_code = 1;
    }
  });
}

void SetupLoad(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("load", "load images from a tar archive (docker-archive or OCI layout)");
  static std::string in;
  static bool quiet = false;
  c->add_option("-i,--input", in, "read from FILE instead of stdin");
  c->add_flag("-q,--quiet", quiet, "print nothing on success");
  c->callback([&g] {
    Status s = Load(g, in, quiet);
    if (!s.ok()) {
      std::cerr << "berth: " << s.message() << "\n";
      g.exit_code = 1;
    }
  });
}

}  // namespace berth::cli
