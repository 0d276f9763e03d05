#include "daemon/puller.h"

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "containerd/events/image.pb.h"
#include "daemon/publish.h"
#include "diff/apply.h"
#include "images/unpack.h"
#include "metadata/leases.h"
#include "remotes/registry.h"

namespace berth::daemon {
namespace {

using images::Descriptor;

std::string Rfc3339(int64_t ns) {
  time_t t = ns / 1000000000;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RefKind(const std::string& media_type) {
  if (images::IsIndexType(media_type)) return "index";
  if (images::IsManifestType(media_type)) return "manifest";
  if (images::IsConfigType(media_type)) return "config";
  if (images::IsLayerType(media_type)) return "layer";
  return "unknown";
}

// Streams registry bytes into a content Writer.
class WriterSink final : public remotes::BlobSink {
 public:
  explicit WriterSink(content::Writer& w) : w_(w) {}
  int64_t Offset() override { return w_.GetStatus().offset; }
  Status Write(const char* data, size_t n) override { return w_.Write(std::string_view(data, n)); }
  Status Reset() override { return w_.Truncate(0); }

 private:
  content::Writer& w_;
};

// Opens a writer for `desc`, retrying while another writer holds the ref (as ctr does).
// Returns nullptr when the blob is already present.
StatusOr<std::unique_ptr<content::Writer>> OpenWriter(content::Store& cs, const Descriptor& desc) {
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(desc.digest));
  content::WriterOptions o;
  o.ref = RefKind(desc.media_type) + "-" + desc.digest;
  o.total = desc.size;
  o.expected = dg;
  for (int delay_ms = 16;; delay_ms = std::min(delay_ms * 2, 2048)) {
    auto w = cs.OpenWriter(o);
    if (w.ok()) return std::move(*w);
    if (absl::IsAlreadyExists(w.status())) return std::unique_ptr<content::Writer>();
    if (!absl::IsUnavailable(w.status()) || delay_ms >= 2048) return w.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

Status CommitWriter(content::Writer& w, const Descriptor& desc) {
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(desc.digest));
  Status s = w.Commit(desc.size, dg, {});
  return absl::IsAlreadyExists(s) ? Status() : s;
}

// Fetches blob `desc` into the store; returns true when it was downloaded, false when present.
StatusOr<bool> FetchBlob(content::Store& cs, remotes::Registry& reg, const remotes::Reference& ref,
                         const Descriptor& desc, const std::function<void(int64_t)>& progress) {
  ASSIGN_OR_RETURN(auto w, OpenWriter(cs, desc));
  if (!w) return false;
  WriterSink sink(*w);
  Status s = reg.FetchBlob(ref, desc, sink, progress);
  if (s.ok()) s = CommitWriter(*w, desc);
  if (absl::IsResourceExhausted(s)) {
    // Out of space: drop the partial ingest (a resume could not fit either) and free its bytes.
    w.reset();
    if (Status a = cs.Abort(RefKind(desc.media_type) + "-" + desc.digest); !a.ok() && !absl::IsNotFound(a)) {
      BLOG(Warn) << "pull: abort ingest of " << desc.digest << ": " << a;
    }
  }
  RETURN_IF_ERROR(s);
  return true;
}

// Reads a whole (small) blob.
StatusOr<std::string> ReadAll(content::Store& cs, const std::string& digest) {
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
  ASSIGN_OR_RETURN(auto r, cs.OpenReader(dg));
  std::string out(static_cast<size_t>(r->Size()), '\0');
  int64_t off = 0;
  while (off < r->Size()) {
    ASSIGN_OR_RETURN(size_t n, r->ReadAt(out.data() + off, out.size() - off, off));
    if (n == 0) break;
    off += static_cast<int64_t>(n);
  }
  out.resize(off);
  return out;
}

Status SetLabels(content::Store& cs, const std::string& digest, const content::Labels& labels) {
  if (labels.empty()) return Status();
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
  content::Info info;
  info.digest = dg;
  info.labels = labels;
  std::vector<std::string> paths;
  for (const auto& [k, v] : labels) paths.push_back("labels." + k);
  return cs.Update(info, paths).status();
}

// ctr's distribution-source label: the repository appended to the existing comma-separated value.
Status SetSourceLabel(content::Store& cs, const remotes::Reference& ref, const std::string& digest) {
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
  ASSIGN_OR_RETURN(content::Info info, cs.GetInfo(dg));
  // ctr keys the label by the host name without its port (refspec.Hostname()).
  std::string host = ref.domain;
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    host.resize(colon);
  }
  std::string key = "containerd.io/distribution.source." + host;
  std::string value = ref.repository;
  auto it = info.labels.find(key);
  if (it != info.labels.end() && !it->second.empty()) {
    std::string cur = "," + it->second + ",";
    if (cur.find("," + ref.repository + ",") != std::string::npos) return Status();
    value = it->second + "," + ref.repository;
  }
  if (key.size() + value.size() > 4096) return Status();
  return SetLabels(cs, digest, {{key, value}});
}

// Fetches a manifest or index into the store and returns its bytes.
StatusOr<std::string> FetchManifest(content::Store& cs, remotes::Registry& reg, const remotes::Reference& ref,
                                    const Descriptor& desc) {
  ASSIGN_OR_RETURN(auto w, OpenWriter(cs, desc));
  if (!w) return ReadAll(cs, desc.digest);
  ASSIGN_OR_RETURN(std::string body, reg.FetchManifest(ref, desc));
  RETURN_IF_ERROR(w->Truncate(0));
  RETURN_IF_ERROR(w->Write(body));
  RETURN_IF_ERROR(CommitWriter(*w, desc));
  return body;
}

// The unpacker's view of the daemon: one namespace, one lease, one snapshotter.
class DaemonUnpackBackend final : public images::UnpackBackend {
 public:
  DaemonUnpackBackend(Daemon& d, content::Store& cs, metadata::SnapshotStore& ss, std::string ns, std::string lease)
      : d_(d), cs_(cs), ss_(ss), ns_(std::move(ns)), lease_(std::move(lease)) {}
  StatusOr<std::string> ReadBlob(const std::string& digest) override { return ReadAll(cs_, digest); }
  Status SetBlobLabel(const std::string& digest, const std::string& key, const std::string& value) override {
    return SetLabels(cs_, digest, {{key, value}});
  }
  Status StatSnapshot(const std::string& key) override { return ss_.Stat(ns_, key).status(); }
  Status PrepareSnapshot(const std::string& key, const std::string& parent) override {
    ASSIGN_OR_RETURN(auto mounts, ss_.Prepare(ns_, lease_, key, parent, {}));
    std::lock_guard<std::mutex> l(mu_);
    mounts_[key] = std::move(mounts);
    return Status();
  }
  StatusOr<std::string> ApplyLayer(const std::string& key, const Descriptor& layer) override {
    std::vector<snapshotter::Mount> mounts;
    {
      std::lock_guard<std::mutex> l(mu_);
      mounts = mounts_[key];
    }
    if (!d_.open_blob) return absl::FailedPreconditionError("no layer source configured");
    ASSIGN_OR_RETURN(Digest dg, Digest::Parse(layer.digest));
    ASSIGN_OR_RETURN(auto src, d_.open_blob(ns_, dg));
    auto reader = diff::VerifyingReader(std::move(src), dg, layer.size);
    ASSIGN_OR_RETURN(Slots::Hold slot, d_.unpack_slots->Acquire({}, "unpack"));
    diff::ApplyOptions opts;
    opts.max_size = d_.config.max_layer_size;
    opts.max_entries = d_.config.max_layer_entries;
    opts.max_ratio = d_.config.max_layer_ratio;
    opts.ratio_floor = d_.config.max_layer_ratio_floor;
    opts.temp_dir = d_.diff_temp_dir.empty() ? "/tmp" : d_.diff_temp_dir;
    ASSIGN_OR_RETURN(diff::ApplyResult r, diff::Apply(layer.media_type, *reader, mounts, opts));
    return r.diff_id.str();
  }
  Status CommitSnapshot(const std::string& name, const std::string& key) override {
    return ss_.Commit(ns_, lease_, name, key, {});
  }
  Status RemoveSnapshot(const std::string& key) override { return ss_.Remove(ns_, key); }

 private:
  Daemon& d_;
  content::Store& cs_;
  metadata::SnapshotStore& ss_;
  std::string ns_, lease_;
  std::mutex mu_;
  std::map<std::string, std::vector<snapshotter::Mount>> mounts_;
};

// Download state of each layer, for the unpacker to wait on.
struct LayerGate {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> done;
  std::vector<Status> status;
};

}  // namespace

StatusOr<PullResult> RunPull(Daemon& d, const PullRequest& req, const PullEvents& ev,
                             const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(req.ref));
  ASSIGN_OR_RETURN(Slots::Hold slot, d.pull_slots->Acquire(cancelled, "pull"));
  images::Platform platform = images::DefaultPlatform();
  if (!req.platform.empty()) {
    ASSIGN_OR_RETURN(platform, images::ParsePlatform(req.platform));
  }
  std::string snapshotter = req.snapshotter;
  if (snapshotter.empty()) {
    auto ns = d.namespaces->Get(req.ns);
    if (ns.ok()) {
      auto it = ns->labels.find("containerd.io/defaults/snapshotter");
      if (it != ns->labels.end()) snapshotter = it->second;
    }
    if (snapshotter.empty()) snapshotter = "overlayfs";
  }
  metadata::SnapshotStore* ss = nullptr;
  if (req.unpack) {
    auto it = d.snapshotters.find(snapshotter);
    if (it == d.snapshotters.end()) return absl::InvalidArgumentError(StrCat("snapshotter not loaded: ", snapshotter));
    ss = it->second.get();
  }
  remotes::RegistryOptions ro;
  ro.plain_http = req.plain_http;
  ro.insecure_hosts = req.insecure_hosts;
  ro.username = req.username;
  ro.password = req.password;
  ro.ca_pem = req.ca_pem;
  remotes::Registry reg(ro);

  // Everything below happens under a lease so GC keeps partial work; it is deleted at the end.
  metadata::Lease lease_in;
  lease_in.labels[metadata::kLabelGcExpire] = Rfc3339(metadata::NowNanos() + int64_t{24} * 3600 * 1000000000);
  ASSIGN_OR_RETURN(metadata::Lease lease, d.leases->Create(req.ns, lease_in));
  struct LeaseGuard {
    Daemon& d;
    std::string ns, id;
    ~LeaseGuard() {
      if (d.leases->Delete(ns, id).ok()) d.gc->Schedule();
    }
  } guard{d, req.ns, lease.id};
  auto cs = d.content->Namespaced(req.ns, lease.id);

  ASSIGN_OR_RETURN(Descriptor root, reg.Resolve(ref));
  ASSIGN_OR_RETURN(std::string root_body, FetchManifest(*cs, reg, ref, root));
  Descriptor mdesc = root;
  std::string mbody = root_body;
  // Indexes: label every child, fetch the one for our platform (recursively).
  for (int depth = 0; images::IsIndexType(mdesc.media_type); ++depth) {
    if (depth > 4) return absl::InvalidArgumentError("index nesting too deep");
    ASSIGN_OR_RETURN(images::Index ix, images::ParseIndex(mbody));
    content::Labels kids;
    for (size_t i = 0; i < ix.manifests.size(); ++i) {
      kids["containerd.io/gc.ref.content.m." + std::to_string(i)] = ix.manifests[i].digest;
    }
    RETURN_IF_ERROR(SetLabels(*cs, mdesc.digest, kids));
    RETURN_IF_ERROR(SetSourceLabel(*cs, ref, mdesc.digest));
    images::PlatformMatcher matcher(platform);
    const Descriptor* best = nullptr;
    int best_rank = -1;
    for (const auto& m : ix.manifests) {
      int rank = m.platform ? matcher.Rank(*m.platform) : (ix.manifests.size() == 1 ? 1000 : -1);
      if (rank >= 0 && (!best || rank < best_rank)) best = &m, best_rank = rank;
    }
    if (!best) {
      return absl::NotFoundError(StrCat("no match for platform ", images::FormatPlatform(images::Normalize(platform)),
                                        " in manifest ", mdesc.digest));
    }
    mdesc = *best;
    ASSIGN_OR_RETURN(mbody, FetchManifest(*cs, reg, ref, mdesc));
  }
  ASSIGN_OR_RETURN(images::Manifest manifest, images::ParseManifest(mbody));
  {
    content::Labels kids{{"containerd.io/gc.ref.content.config", manifest.config.digest}};
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      kids["containerd.io/gc.ref.content.l." + std::to_string(i)] = manifest.layers[i].digest;
    }
    RETURN_IF_ERROR(SetLabels(*cs, mdesc.digest, kids));
    RETURN_IF_ERROR(SetSourceLabel(*cs, ref, mdesc.digest));
  }
  if (ev.resolved) ev.resolved(ref.String(), root.digest, manifest.layers);

  // Config first (small), then layers with a few download threads, lowest layer first.
  ASSIGN_OR_RETURN(bool cfg_new, FetchBlob(*cs, reg, ref, manifest.config, {}));
  (void)cfg_new;
  RETURN_IF_ERROR(SetSourceLabel(*cs, ref, manifest.config.digest));

  const size_t n = manifest.layers.size();
  LayerGate gate;
  gate.done.assign(n, false);
  gate.status.assign(n, Status());
  std::atomic<size_t> next{0};
  std::atomic<bool> abort{false};
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      const Descriptor& layer = manifest.layers[i];
      Status st;
      if (abort.load() || (cancelled && cancelled())) {
        st = absl::CancelledError("pull cancelled");
      } else {
        if (ev.layer) ev.layer(layer.digest, "downloading", 0, layer.size);
        int64_t last_report = 0;
        auto got = FetchBlob(*cs, reg, ref, layer, [&](int64_t off) {
          if (ev.layer && (off - last_report >= (1 << 20) || off == layer.size)) {
            last_report = off;
            ev.layer(layer.digest, "downloading", off, layer.size);
          }
        });
        st = got.status();
        if (st.ok()) st = SetSourceLabel(*cs, ref, layer.digest);
        if (st.ok() && ev.layer) ev.layer(layer.digest, *got ? "downloaded" : "exists", layer.size, layer.size);
      }
      if (!st.ok()) abort.store(true);
      std::lock_guard<std::mutex> l(gate.mu);
      gate.done[i] = true;
      gate.status[i] = st;
      gate.cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  const size_t downloads = static_cast<size_t>(std::max<int64_t>(1, d.config.max_concurrent_downloads));
  for (size_t t = 0; t < std::min(n, downloads); ++t) threads.emplace_back(worker);
  struct Joiner {
    std::vector<std::thread>& ts;
    std::atomic<bool>& abort;
    ~Joiner() {
      for (auto& t : ts) t.join();
    }
  } joiner{threads, abort};

  auto wait_layer = [&](size_t i) -> Status {
    std::unique_lock<std::mutex> l(gate.mu);
    gate.cv.wait(l, [&] { return gate.done[i]; });
    return gate.status[i];
  };

  PullResult res;
  if (req.unpack) {
    DaemonUnpackBackend backend(d, *cs, *ss, req.ns, lease.id);
    images::UnpackOptions uo;
    uo.snapshotter = snapshotter;
    uo.platform = platform;
    uo.wait_for_layer = wait_layer;
    uo.progress = [&](size_t i, const std::string& status) {
      if (ev.layer) ev.layer(manifest.layers[i].digest, status, manifest.layers[i].size, manifest.layers[i].size);
    };
    // Unpack follows `mdesc` (the platform's manifest, already chosen).
    auto un = images::Unpack(backend, mdesc, uo);
    if (!un.ok()) {
      abort.store(true);
      return un.status();
    }
    if (!un->chain_ids.empty()) res.chain_id = un->chain_ids.back();
  }
  // Every blob must be in the store, even those whose snapshot existed already.
  for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(wait_layer(i));

  // The image record, as ctr: Create, and on AlreadyExists a full-replace Update.
  metadata::Image im;
  im.name = ref.String();
  im.labels = req.labels;
  im.target.media_type = root.media_type;
  im.target.digest = root.digest;
  im.target.size = root.size;
  auto created = d.images->Create(req.ns, im);
  if (created.ok()) {
    res.image = *created;
    containerd::services::images::v1::ImageCreate e;
    e.set_name(im.name);
    for (const auto& [k, v] : im.labels) (*e.mutable_labels())[k] = v;
    PublishEvent(*d.events, req.ns, "/images/create", e);
  } else if (absl::IsAlreadyExists(created.status())) {
    ASSIGN_OR_RETURN(res.image, d.images->Update(req.ns, im, {}));
    containerd::services::images::v1::ImageUpdate e;
    e.set_name(im.name);
    for (const auto& [k, v] : im.labels) (*e.mutable_labels())[k] = v;
    PublishEvent(*d.events, req.ns, "/images/update", e);
  } else {
    return created.status();
  }
  return res;
}

TempLease::~TempLease() {
  if (!id.empty() && d.leases->Delete(ns, id).ok()) d.gc->Schedule();
}

Status TempLease::Create() {
  metadata::Lease lease_in;
  lease_in.labels[metadata::kLabelGcExpire] = Rfc3339(metadata::NowNanos() + int64_t{3600} * 1000000000);
  ASSIGN_OR_RETURN(metadata::Lease lease, d.leases->Create(ns, lease_in));
  id = lease.id;
  return Status();
}

StatusOr<std::string> UnpackStored(Daemon& d, const std::string& ns, const std::string& lease,
                                   const std::string& snapshotter, const images::Descriptor& manifest) {
  auto it = d.snapshotters.find(snapshotter);
  if (it == d.snapshotters.end()) return absl::InvalidArgumentError(StrCat("snapshotter not loaded: ", snapshotter));
  auto cs = d.content->Namespaced(ns, lease);
  DaemonUnpackBackend backend(d, *cs, *it->second, ns, lease);
  images::UnpackOptions uo;
  uo.snapshotter = snapshotter;
  ASSIGN_OR_RETURN(auto un, images::Unpack(backend, manifest, uo));
  return un.chain_ids.empty() ? std::string() : un.chain_ids.back();
}

}  // namespace berth::daemon
