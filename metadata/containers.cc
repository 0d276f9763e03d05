#include "metadata/containers.h"

#include "common/identifiers.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

// --- minimal protobuf wire encoding (length-delimited fields only) ---

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytesField(std::string& out, int field, std::string_view v) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | 2);
  PutVarint(out, v.size());
  out.append(v);
}

bool GetVarint(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Reads one field; only length-delimited and varint fields are expected here.
bool NextField(std::string_view& in, int* field, std::string_view* bytes) {
  uint64_t tag;
  if (!GetVarint(in, &tag)) return false;
  *field = static_cast<int>(tag >> 3);
  int wt = static_cast<int>(tag & 7);
  if (wt == 0) {
    uint64_t ignored;
    *bytes = {};
    return GetVarint(in, &ignored);
  }
  if (wt != 2) return false;
  uint64_t n;
  if (!GetVarint(in, &n) || n > in.size()) return false;
  *bytes = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::optional<AnyValue> ColumnAny(const Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return DecodeAny(st.Text(col));
}

void BindAny(Stmt& st, int i, const std::optional<AnyValue>& a) {
  if (a.has_value()) {
    st.BindBlob(i, EncodeAny(*a));
  } else {
    st.BindNull(i);
  }
}

constexpr char kColumns[] =
    "id, image, runtime_name, runtime_options, spec, snapshotter, snapshot_key, extensions, created_at, updated_at";

Container ReadRow(const Stmt& st) {
  Container c;
  c.id = st.Text(0);
  c.image = st.Text(1);
  c.runtime_name = st.Text(2);
  c.runtime_options = ColumnAny(st, 3);
  c.spec = ColumnAny(st, 4);
  c.snapshotter = st.Text(5);
  c.snapshot_key = st.Text(6);
  if (!st.IsNull(7)) c.extensions = DecodeAnyMap(st.Text(7)).value_or(std::map<std::string, AnyValue>{});
  c.created_at = st.Int(8);
  c.updated_at = st.Int(9);
  return c;
}

Status WriteRow(Tx& tx, const std::string& ns, const Container& c, bool insert) {
  const char* sql = insert ? "INSERT INTO containers(namespace, id, image, runtime_name, runtime_options, spec, "
                             "snapshotter, snapshot_key, extensions, created_at, updated_at) "
                             "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                           : "UPDATE containers SET image=?3, runtime_name=?4, runtime_options=?5, spec=?6, "
                             "snapshotter=?7, snapshot_key=?8, extensions=?9, created_at=?10, updated_at=?11 "
                             "WHERE namespace=?1 AND id=?2";
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(sql));
  st.Bind(1, ns).Bind(2, c.id).Bind(3, c.image).Bind(4, c.runtime_name);
  BindAny(st, 5, c.runtime_options);
  BindAny(st, 6, c.spec);
  st.Bind(7, c.snapshotter).Bind(8, c.snapshot_key);
  if (c.extensions.empty()) {
    st.BindNull(9);
  } else {
    st.BindBlob(9, EncodeAnyMap(c.extensions));
  }
  st.Bind(10, c.created_at).Bind(11, c.updated_at);
  RETURN_IF_ERROR(st.Run());
  return tx.SetLabels(ns, "container", c.id, c.labels);
}

StatusOr<std::optional<Container>> ReadOne(Tx& tx, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(StrCat("SELECT ", kColumns, " FROM containers WHERE namespace=?1 AND id=?2")));
  st.Bind(1, ns).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Container>();
  Container c = ReadRow(st);
  ASSIGN_OR_RETURN(c.labels, tx.GetLabels(ns, "container", id));
  return std::optional<Container>(std::move(c));
}

Status NotFound(const std::string& id) { return absl::NotFoundError(StrCat("container \"", id, "\": not found")); }

}  // namespace

std::string EncodeAny(const AnyValue& a) {
  std::string out;
  if (!a.type_url.empty()) PutBytesField(out, 1, a.type_url);
  if (!a.value.empty()) PutBytesField(out, 2, a.value);
  return out;
}

std::optional<AnyValue> DecodeAny(std::string_view data) {
  AnyValue a;
  while (!data.empty()) {
    int field;
    std::string_view bytes;
    if (!NextField(data, &field, &bytes)) return std::nullopt;
    if (field == 1) a.type_url = std::string(bytes);
    if (field == 2) a.value = std::string(bytes);
  }
  return a;
}

std::string EncodeAnyMap(const std::map<std::string, AnyValue>& m) {
  std::string out;
  for (const auto& [k, v] : m) {
    std::string entry;
    PutBytesField(entry, 1, k);
    PutBytesField(entry, 2, EncodeAny(v));
    PutBytesField(out, 1, entry);
  }
  return out;
}

std::optional<std::map<std::string, AnyValue>> DecodeAnyMap(std::string_view data) {
  std::map<std::string, AnyValue> out;
  while (!data.empty()) {
    int field;
    std::string_view entry;
    if (!NextField(data, &field, &entry)) return std::nullopt;
    if (field != 1) continue;
    std::string key;
    AnyValue value;
    while (!entry.empty()) {
      int f;
      std::string_view b;
      if (!NextField(entry, &f, &b)) return std::nullopt;
      if (f == 1) key = std::string(b);
      if (f == 2) {
        auto a = DecodeAny(b);
        if (!a) return std::nullopt;
        value = std::move(*a);
      }
    }
    out[key] = std::move(value);
  }
  return out;
}

std::optional<std::string> ContainerField(const Container& c, const FieldPath& path) {
  if (path.empty()) return std::nullopt;
  const std::string& f = path[0];
  if (f == "id") return NonEmptyField(c.id);
  if (f == "image") return NonEmptyField(c.image);
  if (f == "runtime") {
    if (path.size() < 2 || path[1] != "name") return std::nullopt;
    return NonEmptyField(c.runtime_name);
  }
  if (f == "labels") return LookupLabel(c.labels, path);
  return std::nullopt;
}

Status ValidateContainer(const Container& c) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(c.id, "container id"), "container.ID"));
  for (const auto& [k, v] : c.extensions) {
    if (k.empty()) return absl::InvalidArgumentError("container.Extension keys must not be zero-length");
  }
  RETURN_IF_ERROR(Annotate(ValidateLabels(c.labels), "containers.Labels"));
  if (c.runtime_name.empty()) return absl::InvalidArgumentError("container.Runtime.Name must be set");
  if (!c.spec.has_value()) return absl::InvalidArgumentError("container.Spec must be set");
  if (!c.snapshot_key.empty() && c.snapshotter.empty())
    return absl::InvalidArgumentError("container.Snapshotter must be set if container.SnapshotKey is set");
  return Status();
}

StatusOr<Container> ContainerStore::Get(const std::string& ns, const std::string& id) {
  RETURN_IF_ERROR(ValidateIdentifier(id, "container id"));
  std::optional<Container> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(out, ReadOne(tx, ns, id));
    return Status();
  }));
  if (!out) return NotFound(id);
  return *std::move(out);
}

StatusOr<std::vector<Container>> ContainerStore::List(const std::string& ns, const Filter& filter) {
  std::vector<Container> all;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare(StrCat("SELECT ", kColumns, " FROM containers WHERE namespace=?1 ORDER BY id")));
    st.Bind(1, ns);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      all.push_back(ReadRow(st));
    }
    for (auto& c : all) {
      ASSIGN_OR_RETURN(c.labels, tx.GetLabels(ns, "container", c.id));
    }
    return Status();
  }));
  std::vector<Container> out;
  for (auto& c : all) {
    if (filter.Match([&c](const FieldPath& p) { return ContainerField(c, p); })) out.push_back(std::move(c));
  }
  return out;
}

StatusOr<Container> ContainerStore::Create(const std::string& ns, Container c) {
  for (auto it = c.labels.begin(); it != c.labels.end();) {
    it = it->second.empty() ? c.labels.erase(it) : std::next(it);
  }
  RETURN_IF_ERROR(Annotate(ValidateContainer(c), "create container failed validation"));
  c.created_at = c.updated_at = NowNanos();
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns));
    Status s = WriteRow(tx, ns, c, /*insert=*/true);
    if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("container \"", c.id, "\": already exists"));
    return s;
  }));
  return c;
}

StatusOr<Container> ContainerStore::Update(const std::string& ns, const Container& c,
                                           const std::vector<std::string>& paths_in) {
  if (c.id.empty()) return absl::InvalidArgumentError("must specify a container id");
  RETURN_IF_ERROR(ValidateIdentifier(c.id, "container id"));
  Container updated;
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(std::optional<Container> cur, ReadOne(tx, ns, c.id));
    if (!cur) return NotFound(c.id);
    updated = std::move(*cur);
    std::vector<std::string> paths = paths_in;
    if (paths.empty()) {
      paths = {"labels", "spec", "extensions", "image", "snapshotkey"};
      if (updated.snapshotter != c.snapshotter)
        return absl::InvalidArgumentError("container.Snapshotter field is immutable");
      if (updated.runtime_name != c.runtime_name)
        return absl::InvalidArgumentError("container.Runtime.Name field is immutable");
    }
    for (const auto& p : paths) {
      if (p.rfind("labels.", 0) == 0) {
        std::string key = p.substr(7);
        auto it = c.labels.find(key);
        if (it == c.labels.end() || it->second.empty()) {
          updated.labels.erase(key);
        } else {
          updated.labels[key] = it->second;
        }
      } else if (p.rfind("extensions.", 0) == 0) {
        std::string key = p.substr(11);
        auto it = c.extensions.find(key);
        if (it == c.extensions.end()) {
          updated.extensions[key] = AnyValue{};
        } else {
          updated.extensions[key] = it->second;
        }
      } else if (p == "labels") {
        updated.labels = c.labels;
      } else if (p == "spec") {
        updated.spec = c.spec;
      } else if (p == "extensions") {
        updated.extensions = c.extensions;
      } else if (p == "image") {
        updated.image = c.image;
      } else if (p == "snapshotkey") {
        updated.snapshot_key = c.snapshot_key;
      } else {
        return absl::InvalidArgumentError(StrCat("cannot update \"", p, "\" field on \"", c.id, "\""));
      }
    }
    for (auto it = updated.labels.begin(); it != updated.labels.end();) {
      it = it->second.empty() ? updated.labels.erase(it) : std::next(it);
    }
    RETURN_IF_ERROR(Annotate(ValidateContainer(updated), "update failed validation"));
    updated.updated_at = NowNanos();
    return WriteRow(tx, ns, updated, /*insert=*/false);
  }));
  return updated;
}

Status ContainerStore::Delete(const std::string& ns, const std::string& id) {
  RETURN_IF_ERROR(ValidateIdentifier(id, "container id"));
  return db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("DELETE FROM containers WHERE namespace=?1 AND id=?2"));
    st.Bind(1, ns).Bind(2, id);
    RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return NotFound(id);
    return tx.DeleteLabels(ns, "container", id);
  });
}

}  // namespace berth::metadata
