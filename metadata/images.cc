#include "metadata/images.h"

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/filters.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

constexpr char kKind[] = "image";

std::string AnnotationsToJson(const std::map<std::string, std::string>& a) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : a) j[k] = v;
  return j.dump();
}

std::map<std::string, std::string> AnnotationsFromJson(const std::string& s) {
  std::map<std::string, std::string> out;
  try {
    auto j = nlohmann::json::parse(s);
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
    // A corrupt column reads as no annotations; the record stays usable.
  }
  return out;
}

void DropEmpty(std::map<std::string, std::string>& m) {
  for (auto it = m.begin(); it != m.end();) it = it->second.empty() ? m.erase(it) : std::next(it);
}

Status ValidateImage(const Image& image) {
  if (image.name.empty()) return absl::InvalidArgumentError("image name must not be empty");
  Status s = ValidateLabels(image.labels);
  if (!s.ok()) return Annotate(s, "image.Labels");
  auto d = Digest::Parse(image.target.digest);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        StrCat("Target.Digest \"", image.target.digest, "\" invalid: ", std::string(d.status().message())));
  }
  if (image.target.size <= 0) return absl::InvalidArgumentError("Target.Size must be greater than zero");
  if (image.target.media_type.empty()) return absl::InvalidArgumentError("Target.MediaType must be set");
  return Status();
}

Status WriteImage(Tx& tx, const std::string& ns, const Image& image, bool insert) {
  const char* sql = insert
      ? "INSERT INTO images(namespace, name, target_media_type, target_digest, target_size, target_annotations,"
        " created_at, updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
      : "UPDATE images SET target_media_type=?3, target_digest=?4, target_size=?5, target_annotations=?6,"
        " created_at=?7, updated_at=?8 WHERE namespace=?1 AND name=?2";
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(sql));
  st.Bind(1, ns).Bind(2, image.name).Bind(3, image.target.media_type).Bind(4, image.target.digest);
  st.Bind(5, image.target.size).Bind(6, AnnotationsToJson(image.target.annotations));
  st.Bind(7, image.created_at).Bind(8, image.updated_at);
  Status s = st.Run();
  if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("image \"", image.name, "\": already exists"));
  RETURN_IF_ERROR(s);
  return tx.SetLabels(ns, kKind, image.name, image.labels);
}

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

StatusOr<Image> ReadImage(Tx& tx, const std::string& ns, const std::string& name) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT target_media_type, target_digest, target_size, target_annotations,"
                                       " created_at, updated_at FROM images WHERE namespace=?1 AND name=?2"));
  st.Bind(1, ns).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(StrCat("image \"", name, "\": not found"));
  Image im;
  im.name = name;
  im.target.media_type = st.Text(0);
  im.target.digest = st.Text(1);
  im.target.size = st.Int(2);
  im.target.annotations = AnnotationsFromJson(st.Text(3));
  im.created_at = st.Int(4);
  im.updated_at = st.Int(5);
  ASSIGN_OR_RETURN(im.labels, tx.GetLabels(ns, kKind, name));
  return im;
}

StatusOr<Image> ImageStore::Get(const std::string& ns, const std::string& name) {
  Image out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(out, ReadImage(tx, ns, name));
    return Status();
  }));
  return out;
}

StatusOr<std::vector<Image>> ImageStore::List(const std::string& ns, const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
  std::vector<Image> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    std::vector<std::string> names;
    {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT name FROM images WHERE namespace=?1 ORDER BY name"));
      st.Bind(1, ns);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        names.push_back(st.Text(0));
      }
    }
    for (const auto& name : names) {
      ASSIGN_OR_RETURN(Image im, ReadImage(tx, ns, name));
      auto adaptor = [&im](const FieldPath& p) -> std::optional<std::string> {
        if (p.empty()) return std::nullopt;
        if (p[0] == "name") return NonEmpty(im.name);
        if (p[0] == "target") {
          if (p.size() < 2) return std::nullopt;
          if (p[1] == "digest") return NonEmpty(im.target.digest);
          if (p[1] == "mediatype") return NonEmpty(im.target.media_type);
          return std::nullopt;
        }
        if (p[0] == "labels") return LookupLabel(im.labels, p);
        if (p[0] == "annotations") return LookupLabel(im.target.annotations, p);
        return std::nullopt;
      };
      if (filter.Match(adaptor)) out.push_back(std::move(im));
    }
    return Status();
  }));
  return out;
}

StatusOr<Image> ImageStore::Create(const std::string& ns, const Image& image) {
  Image im = image;
  DropEmpty(im.labels);
  RETURN_IF_ERROR(ValidateImage(im));
  im.created_at = im.updated_at = NowNanos();
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns));
    return WriteImage(tx, ns, im, /*insert=*/true);
  }));
  return im;
}

StatusOr<Image> ImageStore::Update(const std::string& ns, const Image& image, const std::vector<std::string>& paths) {
  if (image.name.empty()) return absl::InvalidArgumentError("image name is required for update");
  Image updated;
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(updated, ReadImage(tx, ns, image.name));
    int64_t created = updated.created_at;
    if (paths.empty()) {
      updated = image;
    }
    for (const auto& p : paths) {
      if (p.rfind("labels.", 0) == 0) {
        std::string key = p.substr(7);
        auto it = image.labels.find(key);
        updated.labels[key] = it == image.labels.end() ? "" : it->second;
      } else if (p.rfind("annotations.", 0) == 0) {
        std::string key = p.substr(12);
        auto it = image.target.annotations.find(key);
        updated.target.annotations[key] = it == image.target.annotations.end() ? "" : it->second;
      } else if (p == "labels") {
        updated.labels = image.labels;
      } else if (p == "target") {
        updated.target = image.target;
      } else if (p == "annotations") {
        updated.target.annotations = image.target.annotations;
      } else {
        return absl::InvalidArgumentError(
            StrCat("cannot update \"", p, "\" field on image \"", image.name, "\""));
      }
    }
    DropEmpty(updated.labels);
    DropEmpty(updated.target.annotations);
    RETURN_IF_ERROR(ValidateImage(updated));
    updated.created_at = created;
    updated.updated_at = NowNanos();
    return WriteImage(tx, ns, updated, /*insert=*/false);
  }));
  return updated;
}

Status ImageStore::Delete(const std::string& ns, const std::string& name) {
  return db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("DELETE FROM images WHERE namespace=?1 AND name=?2"));
    st.Bind(1, ns).Bind(2, name);
    RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return absl::NotFoundError(StrCat("image \"", name, "\": not found"));
    return tx.DeleteLabels(ns, kKind, name);
  });
}

}  // namespace berth::metadata
