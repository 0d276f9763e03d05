#include "images/manifest.h"

#include <nlohmann/json.hpp>

#include "common/digest.h"

namespace berth::images {

using nlohmann::json;

bool IsManifestType(const std::string& t) { return t == kOciManifest || t == kDockerManifest; }
bool IsIndexType(const std::string& t) { return t == kOciIndex || t == kDockerManifestList; }
bool IsConfigType(const std::string& t) { return t == kOciConfig || t == kDockerConfig; }
bool IsLayerType(const std::string& t) {
  return t.rfind("application/vnd.oci.image.layer.", 0) == 0 ||
         t.rfind("application/vnd.docker.image.rootfs.", 0) == 0;
}

namespace {

StatusOr<json> Parse(const std::string& text, const char* what) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return absl::InvalidArgumentError(StrCat(what, ": not a JSON object"));
    return j;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat(what, ": ", e.what()));
  }
}

// A string member, "" when absent; InvalidArgument when present with another type.
StatusOr<std::string> Str(const json& j, const char* key, const char* what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return absl::InvalidArgumentError(StrCat(what, ": \"", key, "\" is not a string"));
  return it->get<std::string>();
}

StatusOr<std::map<std::string, std::string>> StrMap(const json& j, const char* key, const char* what) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return absl::InvalidArgumentError(StrCat(what, ": \"", key, "\" is not an object"));
  for (auto m = it->begin(); m != it->end(); ++m) {
    if (!m.value().is_string()) return absl::InvalidArgumentError(StrCat(what, ": ", key, " values must be strings"));
    out[m.key()] = m.value().get<std::string>();
  }
  return out;
}

StatusOr<Descriptor> ParseDescriptor(const json& j, const char* what) {
  if (!j.is_object()) return absl::InvalidArgumentError(StrCat(what, ": descriptor is not an object"));
  Descriptor d;
  ASSIGN_OR_RETURN(d.media_type, Str(j, "mediaType", what));
  ASSIGN_OR_RETURN(d.digest, Str(j, "digest", what));
  auto dg = Digest::Parse(d.digest);
  if (!dg.ok()) return absl::InvalidArgumentError(StrCat(what, ": ", std::string(dg.status().message())));
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return absl::InvalidArgumentError(StrCat(what, ": descriptor ", d.digest, " has no valid size"));
  }
  d.size = size->get<int64_t>();
  ASSIGN_OR_RETURN(d.annotations, StrMap(j, "annotations", what));
  if (auto u = j.find("urls"); u != j.end() && u->is_array()) {
    for (const auto& e : *u) {
      if (e.is_string()) d.urls.push_back(e.get<std::string>());
    }
  }
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    Platform pl;
    ASSIGN_OR_RETURN(pl.os, Str(*p, "os", what));
    ASSIGN_OR_RETURN(pl.architecture, Str(*p, "architecture", what));
    ASSIGN_OR_RETURN(pl.variant, Str(*p, "variant", what));
    ASSIGN_OR_RETURN(pl.os_version, Str(*p, "os.version", what));
    if (auto f = p->find("os.features"); f != p->end() && f->is_array()) {
      for (const auto& e : *f) {
        if (e.is_string()) pl.os_features.push_back(e.get<std::string>());
      }
    }
    d.platform = pl;
  }
  return d;
}

StatusOr<Manifest> ManifestFromJson(const json& j) {
  const char* what = "manifest";
  Manifest m;
  ASSIGN_OR_RETURN(m.media_type, Str(j, "mediaType", what));
  if (!m.media_type.empty() && !IsManifestType(m.media_type)) {
    return absl::InvalidArgumentError(StrCat("manifest: unexpected media type ", m.media_type));
  }
  auto c = j.find("config");
  if (c == j.end()) return absl::InvalidArgumentError("manifest: no config");
  ASSIGN_OR_RETURN(m.config, ParseDescriptor(*c, "manifest config"));
  auto l = j.find("layers");
  if (l != j.end() && !l->is_null()) {
    if (!l->is_array()) return absl::InvalidArgumentError("manifest: \"layers\" is not an array");
    for (const auto& e : *l) {
      ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(e, "manifest layer"));
      m.layers.push_back(std::move(d));
    }
  }
  ASSIGN_OR_RETURN(m.annotations, StrMap(j, "annotations", what));
  return m;
}

StatusOr<Index> IndexFromJson(const json& j) {
  const char* what = "index";
  Index ix;
  ASSIGN_OR_RETURN(ix.media_type, Str(j, "mediaType", what));
  if (!ix.media_type.empty() && !IsIndexType(ix.media_type)) {
    return absl::InvalidArgumentError(StrCat("index: unexpected media type ", ix.media_type));
  }
  auto ms = j.find("manifests");
  if (ms == j.end() || !ms->is_array()) return absl::InvalidArgumentError("index: \"manifests\" is not an array");
  for (const auto& e : *ms) {
    ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(e, "index entry"));
    ix.manifests.push_back(std::move(d));
  }
  ASSIGN_OR_RETURN(ix.annotations, StrMap(j, "annotations", what));
  return ix;
}

}  // namespace

StatusOr<Manifest> ParseManifest(const std::string& text) {
  ASSIGN_OR_RETURN(json j, Parse(text, "manifest"));
  try {
    return ManifestFromJson(j);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat("manifest: ", e.what()));
  }
}

StatusOr<Index> ParseIndex(const std::string& text) {
  ASSIGN_OR_RETURN(json j, Parse(text, "index"));
  try {
    return IndexFromJson(j);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat("index: ", e.what()));
  }
}

StatusOr<ImageConfig> ParseConfig(const std::string& text) {
  const char* what = "image config";
  ASSIGN_OR_RETURN(json j, Parse(text, what));
  try {
    ImageConfig c;
    ASSIGN_OR_RETURN(c.architecture, Str(j, "architecture", what));
    ASSIGN_OR_RETURN(c.os, Str(j, "os", what));
    ASSIGN_OR_RETURN(c.variant, Str(j, "variant", what));
    ASSIGN_OR_RETURN(c.created, Str(j, "created", what));
    auto rootfs = j.find("rootfs");
    if (rootfs == j.end() || !rootfs->is_object()) return absl::InvalidArgumentError("image config: no rootfs");
    auto ids = rootfs->find("diff_ids");
    if (ids != rootfs->end() && !ids->is_null()) {
      if (!ids->is_array()) return absl::InvalidArgumentError("image config: rootfs.diff_ids is not an array");
      for (const auto& e : *ids) {
        if (!e.is_string()) return absl::InvalidArgumentError("image config: diff_id is not a string");
        std::string id = e.get<std::string>();
        auto d = Digest::Parse(id);
        if (!d.ok()) return absl::InvalidArgumentError(StrCat("image config: diff_id: ", std::string(d.status().message())));
        c.diff_ids.push_back(std::move(id));
      }
    }
    auto cfg = j.find("config");
    if (cfg != j.end() && !cfg->is_null()) {
      if (!cfg->is_object()) return absl::InvalidArgumentError("image config: config is not an object");
      auto strings = [&](const char* key, std::vector<std::string>* out) -> Status {
        auto it = cfg->find(key);
        if (it == cfg->end() || it->is_null()) return Status();
        if (!it->is_array()) return absl::InvalidArgumentError(StrCat("image config: config.", key, " is not an array"));
        for (const auto& e : *it) {
          if (!e.is_string()) return absl::InvalidArgumentError(StrCat("image config: config.", key, " holds a non-string"));
          out->push_back(e.get<std::string>());
        }
        return Status();
      };
      RETURN_IF_ERROR(strings("Env", &c.env));
      RETURN_IF_ERROR(strings("Entrypoint", &c.entrypoint));
      RETURN_IF_ERROR(strings("Cmd", &c.cmd));
      ASSIGN_OR_RETURN(c.working_dir, Str(*cfg, "WorkingDir", what));
      ASSIGN_OR_RETURN(c.user, Str(*cfg, "User", what));
    }
    return c;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat("image config: ", e.what()));
  }
}

StatusOr<std::string> DetectMediaType(const std::string& text) {
  ASSIGN_OR_RETURN(json j, Parse(text, "manifest"));
  try {
    ASSIGN_OR_RETURN(std::string mt, Str(j, "mediaType", "manifest"));
    if (!mt.empty()) {
      if (mt == kDockerSchema1) return absl::UnimplementedError("Docker schema 1 manifests are not supported");
      return mt;
    }
    if (auto s = j.find("schemaVersion"); s != j.end() && s->is_number_integer() && s->get<int>() == 1) {
      return absl::UnimplementedError("Docker schema 1 manifests are not supported");
    }
    if (j.contains("manifests")) return std::string(kOciIndex);
    if (j.contains("config") && j.contains("layers")) return std::string(kOciManifest);
    return absl::InvalidArgumentError("blob is neither a manifest nor an index");
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat("manifest: ", e.what()));
  }
}

StatusOr<std::vector<Descriptor>> Children(const std::string& media_type, const std::string& text) {
  std::vector<Descriptor> out;
  if (IsManifestType(media_type)) {
    ASSIGN_OR_RETURN(Manifest m, ParseManifest(text));
    out.push_back(m.config);
    out.insert(out.end(), m.layers.begin(), m.layers.end());
  } else if (IsIndexType(media_type)) {
    ASSIGN_OR_RETURN(Index ix, ParseIndex(text));
    out = std::move(ix.manifests);
  }
  return out;
}

}  // namespace berth::images
