// Namespaces: containerd's namespace records with labels. Namespaces also exist implicitly: any
// object created in a namespace records it (Tx::EnsureNamespace), and Get of a name never seen
// answers an empty namespace rather than NotFound, as containerd does (ctr depends on it).
#pragma once

#include <string>
#include <vector>

#include "metadata/db.h"

namespace berth::metadata {

struct Namespace {
  std::string name;
  Labels labels;
};

class NamespaceStore {
 public:
  explicit NamespaceStore(Db& db) : db_(db) {}

  // InvalidArgument for a bad name; otherwise the namespace (labels empty if never created).
  StatusOr<Namespace> Get(const std::string& name);
  StatusOr<std::vector<Namespace>> List();
  // AlreadyExists when the namespace is already recorded.
  StatusOr<Namespace> Create(const Namespace& ns);
  // Applies `paths` ("labels" replaces all labels, "labels.<k>" sets or, when empty, clears one;
  // no paths replaces all labels). Creates the namespace if it did not exist. InvalidArgument
  // for any other path.
  StatusOr<Namespace> Update(const Namespace& ns, const std::vector<std::string>& paths);
  // NotFound when unknown; FailedPrecondition while it still holds objects.
  Status Delete(const std::string& name);

 private:
  Db& db_;
};

// containerd's label rule: key and value together at most 4096 bytes, key not empty.
Status ValidateLabels(const Labels& labels);

}  // namespace berth::metadata
