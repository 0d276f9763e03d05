#include "cri/images.h"

#include <absl/strings/escaping.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/digest.h"
#include "common/log.h"
#include "images/chain_id.h"
#include "images/manifest.h"
#include "images/platform.h"
#include "images/unpack.h"
#include "remotes/reference.h"

namespace berth::cri {
namespace {

bool IsIdName(const std::string& name) { return Digest::Parse(name).ok(); }

// The read-only part of UnpackBackend, so images::ResolveManifest follows indexes for us.
class BlobReader final : public images::UnpackBackend {
 public:
  explicit BlobReader(std::function<StatusOr<std::string>(const std::string&)> read) : read_(std::move(read)) {}
  StatusOr<std::string> ReadBlob(const std::string& digest) override { return read_(digest); }
  Status SetBlobLabel(const std::string&, const std::string&, const std::string&) override { return ReadOnly(); }
  Status StatSnapshot(const std::string&) override { return ReadOnly(); }
  Status PrepareSnapshot(const std::string&, const std::string&) override { return ReadOnly(); }
  StatusOr<std::string> ApplyLayer(const std::string&, const images::Descriptor&) override { return ReadOnly(); }
  Status CommitSnapshot(const std::string&, const std::string&) override { return ReadOnly(); }
  Status RemoveSnapshot(const std::string&) override { return ReadOnly(); }

 private:
  static Status ReadOnly() { return absl::InternalError("image inspection is read-only"); }
  std::function<StatusOr<std::string>(const std::string&)> read_;
};

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

StatusOr<std::pair<std::string, std::string>> Credentials(const Auth& auth) {
  if (!auth.username.empty() || !auth.password.empty()) return std::make_pair(auth.username, auth.password);
  if (!auth.auth.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(auth.auth, &decoded)) return absl::InvalidArgumentError("auth is not base64");
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError("auth is not base64 of user:password");
    return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
  }
  if (!auth.identity_token.empty()) return std::make_pair(std::string(), auth.identity_token);
  return std::make_pair(std::string(), std::string());
}

void ClassifyNames(const std::vector<std::string>& names, std::vector<std::string>* tags,
                   std::vector<std::string>* digests) {
  std::set<std::string> t, d;
  for (const auto& n : names) {
    if (IsIdName(n)) continue;
    auto ref = remotes::ParseReference(n);
    if (!ref.ok()) continue;
    // Only names written in normalised form are references of the image (as containerd's
    // ParseDockerRef round trip).
    if (ref->String() != n) continue;
    if (!ref->digest.empty()) {
      d.insert(n);
    } else {
      t.insert(n);
    }
  }
  tags->assign(t.begin(), t.end());
  digests->assign(d.begin(), d.end());
}

void UserFromConfig(const std::string& user, std::optional<int64_t>* uid, std::string* username) {
  uid->reset();
  username->clear();
  if (user.empty()) return;
  std::string u = user.substr(0, user.find(':'));
  if (u.empty()) return;
  if (std::all_of(u.begin(), u.end(), [](char c) { return c >= '0' && c <= '9'; }) && u.size() < 19) {
    *uid = std::stoll(u);
  } else {
    *username = u;
  }
}

StatusOr<std::string> ImageManager::ReadBlob(const std::string& digest) {
  ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
  auto cs = d_.content->Namespaced(kNamespace);
  ASSIGN_OR_RETURN(auto r, cs->OpenReader(dg));
  std::string out(static_cast<size_t>(r->Size()), '\0');
  int64_t off = 0;
  while (off < r->Size()) {
    ASSIGN_OR_RETURN(size_t n, r->ReadAt(out.data() + off, out.size() - off, off));
    if (n == 0) break;
    off += static_cast<int64_t>(n);
  }
  out.resize(static_cast<size_t>(off));
  return out;
}

StatusOr<Image> ImageManager::Load(const metadata::Descriptor& target) {
  BlobReader reader([this](const std::string& dg) { return ReadBlob(dg); });
  images::Descriptor root{.media_type = target.media_type, .digest = target.digest, .size = target.size};
  ASSIGN_OR_RETURN(images::Descriptor mdesc, images::ResolveManifest(reader, root, images::DefaultPlatform()));
  ASSIGN_OR_RETURN(std::string mbody, ReadBlob(mdesc.digest));
  ASSIGN_OR_RETURN(images::Manifest m, images::ParseManifest(mbody));
  Image im;
  im.target = target;
  im.manifest_digest = mdesc.digest;
  im.id = m.config.digest;
  ASSIGN_OR_RETURN(im.config_json, ReadBlob(m.config.digest));
  ASSIGN_OR_RETURN(images::ImageConfig cfg, images::ParseConfig(im.config_json));
  int64_t size = mdesc.size + m.config.size;
  if (mdesc.digest != target.digest) size += target.size;
  for (const auto& l : m.layers) size += l.size;
  im.size = static_cast<uint64_t>(size);
  UserFromConfig(cfg.user, &im.uid, &im.username);
  if (!cfg.diff_ids.empty()) {
    ASSIGN_OR_RETURN(auto chain, images::ChainIds(cfg.diff_ids));
    if (!chain.empty()) im.chain_id = chain.back();
  }
  im.env = cfg.env;
  im.entrypoint = cfg.entrypoint;
  im.cmd = cfg.cmd;
  im.working_dir = cfg.working_dir;
  im.user = cfg.user;
  return im;
}

StatusOr<std::vector<Image>> ImageManager::List() {
  ASSIGN_OR_RETURN(auto records, d_.images->List(kNamespace, {}));
  std::map<std::string, Image> by_id;
  std::map<std::string, std::vector<std::string>> names;
  for (const auto& r : records) {
    auto im = Load(r.target);
    if (!im.ok()) {
      // Containerd's CRI skips records whose content is incomplete or for another platform.
      BLOG(Debug) << "cri: image " << r.name << " skipped: " << im.status();
      continue;
    }
    names[im->id].push_back(r.name);
    auto it = by_id.find(im->id);
    // Prefer a record that is not the id record as the target.
    if (it == by_id.end() || IsIdName(names[im->id].front())) by_id[im->id] = std::move(*im);
  }
  std::vector<Image> out;
  for (auto& [id, im] : by_id) {
    ClassifyNames(names[id], &im.repo_tags, &im.repo_digests);
    out.push_back(std::move(im));
  }
  return out;
}

StatusOr<Image> ImageManager::Find(const std::string& ref_or_id) {
  if (ref_or_id.empty()) return absl::InvalidArgumentError("image reference is empty");
  std::string id;
  if (Digest::Parse(ref_or_id).ok()) {
    id = ref_or_id;
  } else if (auto ref = remotes::ParseReference(ref_or_id); ref.ok()) {
    auto rec = d_.images->Get(kNamespace, ref->String());
    if (rec.ok()) {
      auto im = Load(rec->target);
      if (im.ok()) id = im->id;
    }
  }
  ASSIGN_OR_RETURN(auto all, List());
  const Image* match = nullptr;
  for (const auto& im : all) {
    if (!id.empty()) {
      if (im.id == id) return im;
      continue;
    }
    // An id prefix, with or without "sha256:".
    std::string hex = im.id.substr(7);
    std::string want = ref_or_id.rfind("sha256:", 0) == 0 ? ref_or_id.substr(7) : ref_or_id;
    if (!want.empty() && hex.rfind(want, 0) == 0) {
      if (match) return absl::NotFoundError(StrCat("image \"", ref_or_id, "\" is ambiguous"));
      match = &im;
    }
  }
  if (match) return *match;
  return absl::NotFoundError(StrCat("image \"", ref_or_id, "\" not found"));
}

StatusOr<std::string> ImageManager::Record(const std::string& ref_text, const metadata::Descriptor& target) {
  ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(ref_text));
  ASSIGN_OR_RETURN(Image im, Load(target));
  remotes::Reference digested = ref;
  digested.tag.clear();
  digested.digest = target.digest;
  std::vector<std::string> names = {ref.String(), digested.String(), im.id};
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& name : names) {
    metadata::Image rec;
    rec.name = name;
    rec.target = target;
    rec.labels[kImageLabel] = kImageLabelManaged;
    auto created = d_.images->Create(kNamespace, rec);
    if (absl::IsAlreadyExists(created.status())) {
      // As containerd: an existing record is pointed at the new target (a tag moved).
      RETURN_IF_ERROR(d_.images->Update(kNamespace, rec, {"target", "labels." + std::string(kImageLabel)}).status());
    } else if (!created.ok()) {
      return created.status();
    }
  }
  return im.id;
}

StatusOr<std::string> ImageManager::Pull(const std::string& ref_text, const Auth& auth) {
  ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(ref_text));
  ASSIGN_OR_RETURN(auto cred, Credentials(auth));
  ASSIGN_OR_RETURN(metadata::Descriptor target, d_.pull(ref.String(), cred.first, cred.second));
  return Record(ref.String(), target);
}

Status ImageManager::Remove(const std::string& ref_or_id) {
  auto im = Find(ref_or_id);
  if (absl::IsNotFound(im.status())) return Status();
  RETURN_IF_ERROR(im.status());
  ASSIGN_OR_RETURN(auto records, d_.images->List(kNamespace, {}));
  std::lock_guard<std::mutex> l(mu_);
  // Every record of the image; the id record last, so a failure leaves the image findable.
  std::vector<std::string> doomed;
  for (const auto& r : records) {
    if (r.name == im->id) continue;
    auto other = Load(r.target);
    if (other.ok() && other->id == im->id) doomed.push_back(r.name);
  }
  doomed.push_back(im->id);
  for (const auto& name : doomed) {
    Status s = d_.images->Delete(kNamespace, name);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return Status();
}

StatusOr<FsUsage> ImageManager::FsInfo() {
  FsUsage u;
  u.timestamp_ns = NowNs();
  u.mountpoint = d_.snapshotter_root;
  if (d_.snapshots == nullptr) return u;
  std::vector<std::string> keys;
  RETURN_IF_ERROR(d_.snapshots->Walk(kNamespace, [&](const snapshotter::Info& info) {
    keys.push_back(info.name);
    return Status();
  }));
  for (const auto& k : keys) {
    auto usage = d_.snapshots->GetUsage(kNamespace, k);
    if (!usage.ok()) continue;  // removed meanwhile
    u.used_bytes += static_cast<uint64_t>(usage->size);
    u.inodes_used += static_cast<uint64_t>(usage->inodes);
  }
  return u;
}

}  // namespace berth::cri
