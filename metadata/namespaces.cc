#include "metadata/namespaces.h"

#include "absl/strings/str_join.h"
#include "common/identifiers.h"

namespace berth::metadata {

Status ValidateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.empty()) return absl::InvalidArgumentError("label key must not be empty");
    if (k.size() + v.size() > 4096) {
      return absl::InvalidArgumentError(
          StrCat("label key and value length (", k.size() + v.size(),
                       " bytes) greater than maximum size (4096 bytes), key: ", k.substr(0, 32)));
    }
  }
  return Status();
}

StatusOr<Namespace> NamespaceStore::Get(const std::string& name) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "namespace"));
  Namespace ns{name, {}};
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(ns.labels, tx.GetLabels(name, "namespace", name));
    return Status();
  }));
  return ns;
}

StatusOr<std::vector<Namespace>> NamespaceStore::List() {
  std::vector<Namespace> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT name FROM namespaces ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(Namespace{st.Text(0), {}});
    }
    for (auto& ns : out) {
      ASSIGN_OR_RETURN(ns.labels, tx.GetLabels(ns.name, "namespace", ns.name));
    }
    return Status();
  }));
  return out;
}

StatusOr<Namespace> NamespaceStore::Create(const Namespace& ns) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name, "namespace"));
  RETURN_IF_ERROR(ValidateLabels(ns.labels));
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("INSERT INTO namespaces(name, created_at, updated_at) VALUES(?1, ?2, ?2)"));
    st.Bind(1, ns.name).Bind(2, NowNanos());
    Status s = st.Run();
    if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("namespace \"", ns.name, "\": already exists"));
    RETURN_IF_ERROR(s);
    return tx.SetLabels(ns.name, "namespace", ns.name, ns.labels);
  }));
  return ns;
}

StatusOr<Namespace> NamespaceStore::Update(const Namespace& ns, const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name, "namespace"));
  Namespace out{ns.name, {}};
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns.name));
    ASSIGN_OR_RETURN(Labels labels, tx.GetLabels(ns.name, "namespace", ns.name));
    if (paths.empty()) {
      labels = ns.labels;
    }
    for (const auto& p : paths) {
      if (p == "labels") {
        labels = ns.labels;
      } else if (p.rfind("labels.", 0) == 0) {
        std::string key = p.substr(7);
        auto it = ns.labels.find(key);
        if (it == ns.labels.end() || it->second.empty()) {
          labels.erase(key);
        } else {
          labels[key] = it->second;
        }
      } else {
        return absl::InvalidArgumentError(
            StrCat("cannot update \"", p, "\" field on namespace \"", ns.name, "\""));
      }
    }
    // Empty values clear labels, as containerd's SetLabel does.
    for (auto it = labels.begin(); it != labels.end();) {
      it = it->second.empty() ? labels.erase(it) : std::next(it);
    }
    RETURN_IF_ERROR(ValidateLabels(labels));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("UPDATE namespaces SET updated_at=?2 WHERE name=?1"));
    st.Bind(1, ns.name).Bind(2, NowNanos());
    RETURN_IF_ERROR(st.Run());
    out.labels = labels;
    return tx.SetLabels(ns.name, "namespace", ns.name, labels);
  }));
  return out;
}

Status NamespaceStore::Delete(const std::string& name) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "namespace"));
  return db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt exists, tx.Prepare("SELECT 1 FROM namespaces WHERE name=?1"));
    exists.Bind(1, name);
    ASSIGN_OR_RETURN(bool found, exists.Step());
    if (!found) return absl::NotFoundError(StrCat("namespace \"", name, "\": not found"));
    std::vector<std::string> held;
    const std::pair<const char*, const char*> kinds[] = {
        {"images", "SELECT 1 FROM images WHERE namespace=?1 LIMIT 1"},
        {"blobs", "SELECT 1 FROM content WHERE namespace=?1 LIMIT 1"},
        {"containers", "SELECT 1 FROM containers WHERE namespace=?1 LIMIT 1"},
        {"snapshots", "SELECT 1 FROM snapshots WHERE namespace=?1 LIMIT 1"},
    };
    for (const auto& [what, sql] : kinds) {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare(sql));
      st.Bind(1, name);
      ASSIGN_OR_RETURN(bool any, st.Step());
      if (any) held.push_back(what);
    }
    if (!held.empty()) {
      return absl::FailedPreconditionError(StrCat("namespace \"", name, "\" must be empty, but it still has ",
                                                        absl::StrJoin(held, ", ")));
    }
    RETURN_IF_ERROR(tx.DeleteLabels(name, "namespace", name));
    ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM namespaces WHERE name=?1"));
    del.Bind(1, name);
    return del.Run();
  });
}

}  // namespace berth::metadata
