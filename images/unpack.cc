#include "images/unpack.h"


#include <chrono>

#include "common/unique.h"
#include "images/chain_id.h"

namespace berth::images {

std::string ExtractKey(const std::string& chain_id) {
  return StrCat("extract-", UniquePart(), " ", chain_id);
}

StatusOr<Descriptor> ResolveManifest(UnpackBackend& backend, const Descriptor& target, const Platform& platform) {
  Descriptor cur = target;
  PlatformMatcher matcher(platform);
  for (int depth = 0; depth < 8; ++depth) {
    ASSIGN_OR_RETURN(std::string body, backend.ReadBlob(cur.digest));
    std::string mt = cur.media_type;
    if (mt.empty()) {
      ASSIGN_OR_RETURN(mt, DetectMediaType(body));
    }
    if (IsManifestType(mt)) {
      cur.media_type = mt;
      return cur;
    }
    if (!IsIndexType(mt)) return absl::InvalidArgumentError(StrCat("unexpected media type ", mt, " for ", cur.digest));
    ASSIGN_OR_RETURN(Index ix, ParseIndex(body));
    const Descriptor* best = nullptr;
    int best_rank = -1;
    for (const auto& m : ix.manifests) {
      if (!IsManifestType(m.media_type) && !IsIndexType(m.media_type)) continue;
      int rank = m.platform ? matcher.Rank(*m.platform) : -1;
      // An entry without a platform only matches when it is the sole entry (as containerd).
      if (!m.platform && ix.manifests.size() == 1) rank = 1000;
      if (rank < 0) continue;
      if (!best || rank < best_rank) best = &m, best_rank = rank;
    }
    if (!best) {
      return absl::NotFoundError(
          StrCat("no match for platform ", FormatPlatform(Normalize(platform)), " in manifest ", cur.digest));
    }
    cur = *best;
  }
  return absl::InvalidArgumentError("index nesting too deep");
}

StatusOr<UnpackResult> Unpack(UnpackBackend& backend, const Descriptor& target, const UnpackOptions& opts) {
  UnpackResult res;
  ASSIGN_OR_RETURN(res.manifest, ResolveManifest(backend, target, opts.platform));
  ASSIGN_OR_RETURN(std::string mbody, backend.ReadBlob(res.manifest.digest));
  ASSIGN_OR_RETURN(Manifest m, ParseManifest(mbody));
  res.config = m.config;
  ASSIGN_OR_RETURN(std::string cbody, backend.ReadBlob(m.config.digest));
  ASSIGN_OR_RETURN(ImageConfig cfg, ParseConfig(cbody));
  if (cfg.diff_ids.size() != m.layers.size()) {
    return absl::InvalidArgumentError(StrCat("mismatched image rootfs and manifest layers: ", cfg.diff_ids.size(),
                                             " diff_ids, ", m.layers.size(), " layers"));
  }
  ASSIGN_OR_RETURN(res.chain_ids, ChainIds(cfg.diff_ids));

  std::string parent;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const std::string& chain = res.chain_ids[i];
    const Descriptor& layer = m.layers[i];
    Status st = backend.StatSnapshot(chain);
    if (st.ok()) {
      if (opts.progress) opts.progress(i, "exists");
      parent = chain;
      continue;
    }
    if (!absl::IsNotFound(st)) return Annotate(st, StrCat("stat snapshot ", chain));
    if (opts.wait_for_layer) RETURN_IF_ERROR(opts.wait_for_layer(i));
    if (opts.progress) opts.progress(i, "unpacking");

    std::string key;
    for (int attempt = 0;; ++attempt) {
      key = ExtractKey(chain);
      st = backend.PrepareSnapshot(key, parent);
      if (st.ok()) break;
      if (!absl::IsAlreadyExists(st) || attempt >= 3) return Annotate(st, StrCat("prepare extraction snapshot \"", key, "\""));
    }
    auto diff_id = backend.ApplyLayer(key, layer);
    if (!diff_id.ok()) {
      (void)backend.RemoveSnapshot(key);
      return Annotate(diff_id.status(), StrCat("apply layer ", layer.digest));
    }
    if (*diff_id != cfg.diff_ids[i]) {
      (void)backend.RemoveSnapshot(key);
      return absl::FailedPreconditionError(StrCat("wrong diff id calculated on extraction \"", *diff_id,
                                                  "\", expected \"", cfg.diff_ids[i], "\""));
    }
    st = backend.CommitSnapshot(chain, key);
    if (!st.ok()) {
      (void)backend.RemoveSnapshot(key);
      if (!absl::IsAlreadyExists(st)) return Annotate(st, StrCat("commit snapshot ", key));
    }
    RETURN_IF_ERROR(Annotate(backend.SetBlobLabel(layer.digest, kLabelUncompressed, *diff_id),
                             StrCat("label layer ", layer.digest)));
    if (opts.progress) opts.progress(i, "unpacked");
    parent = chain;
  }
  if (!res.chain_ids.empty()) {
    RETURN_IF_ERROR(Annotate(backend.SetBlobLabel(m.config.digest, kLabelSnapshotRefPrefix + opts.snapshotter,
                                                  res.chain_ids.back()),
                             StrCat("label config ", m.config.digest)));
  }
  return res;
}

}  // namespace berth::images
