#include "metadata/leases.h"

#include <time.h>

#include <cctype>
#include <chrono>
#include <cstdint>

#include "common/digest.h"
#include "common/filters.h"
#include "common/unique.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

constexpr char kKind[] = "lease";

Status RequireLease(Tx& tx, const std::string& ns, const std::string& id) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT 1 FROM leases WHERE namespace=?1 AND id=?2"));
  st.Bind(1, ns).Bind(2, id);
  ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return absl::NotFoundError(StrCat("lease \"", id, "\": not found"));
  return Status();
}

StatusOr<Lease> ReadLease(Tx& tx, const std::string& ns, const std::string& id, int64_t created_at) {
  Lease l{id, created_at, {}};
  ASSIGN_OR_RETURN(l.labels, tx.GetLabels(ns, kKind, id));
  return l;
}

}  // namespace

std::string GenerateLeaseId() { return UniquePart(); }

StatusOr<int64_t> ParseRfc3339(const std::string& s) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid RFC 3339 time \"", s, "\"")); };
  struct tm tm = {};
  int consumed = 0;
  if (sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return bad();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t i = 19;
  int64_t frac_ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (digits < 9) frac_ns = frac_ns * 10 + (s[i] - '0');
      ++digits, ++i;
    }
    if (digits == 0) return bad();
    for (int d = digits; d < 9; ++d) frac_ns *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int hh = 0, mm = 0;
    if (sscanf(s.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return bad();
    offset = (hh * 3600 + mm * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  // Nanoseconds in an int64 end in 2262: later times saturate (never expire in practice).
  constexpr int64_t kMaxSecs = INT64_MAX / 1000000000 - 1;
  if (secs > kMaxSecs) return INT64_MAX;
  if (secs < -kMaxSecs) return INT64_MIN;
  return secs * 1000000000 + frac_ns;
}

StatusOr<std::string> ValidateLeaseResource(const LeaseResource& r) {
  std::string head = r.type.substr(0, r.type.find('/'));
  bool has_slash = r.type.find('/') != std::string::npos;
  if (head == "content" || head == "ingests") {
    if (has_slash) return absl::InvalidArgumentError(StrCat("invalid resource type ", r.type));
    if (head == "content") {
      auto d = Digest::Parse(r.id);
      if (!d.ok()) {
        return absl::InvalidArgumentError(
            StrCat("invalid content resource id ", r.id, ": ", std::string(d.status().message())));
      }
      return d->str();
    }
    if (r.id.empty()) return absl::InvalidArgumentError("resource id must not be empty");
    return r.id;
  }
  if (head == "snapshots") {
    std::string rest = has_slash ? r.type.substr(r.type.find('/') + 1) : "";
    if (rest.empty() || rest.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("invalid snapshot resource type ", r.type));
    }
    if (r.id.empty()) return absl::InvalidArgumentError("resource id must not be empty");
    return r.id;
  }
  return absl::UnimplementedError(StrCat("resource type ", r.type, " not supported yet"));
}

Status AttachToLease(Tx& tx, const std::string& ns, const std::string& lease, const std::string& type,
                     const std::string& id) {
  if (lease.empty()) return Status();
  Status s = RequireLease(tx, ns, lease);
  if (absl::IsNotFound(s)) return absl::NotFoundError(StrCat("lease \"", lease, "\": lease does not exist"));
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(Stmt st,
                   tx.Prepare("INSERT OR IGNORE INTO lease_resources(namespace, lease, type, id) VALUES(?1,?2,?3,?4)"));
  st.Bind(1, ns).Bind(2, lease).Bind(3, type).Bind(4, id);
  return st.Run();
}

Status DetachFromLeases(Tx& tx, const std::string& ns, const std::string& type, const std::string& id) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("DELETE FROM lease_resources WHERE namespace=?1 AND type=?2 AND id=?3"));
  st.Bind(1, ns).Bind(2, type).Bind(3, id);
  return st.Run();
}

StatusOr<Lease> LeaseStore::Create(const std::string& ns, const Lease& lease) {
  Lease l = lease;
  if (l.id.empty()) l.id = GenerateLeaseId();
  if (l.id.size() > 255 || l.id.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("invalid lease id \"", l.id, "\""));
  }
  RETURN_IF_ERROR(ValidateLabels(l.labels));
  for (auto it = l.labels.begin(); it != l.labels.end();) it = it->second.empty() ? l.labels.erase(it) : std::next(it);
  l.created_at = NowNanos();
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("INSERT INTO leases(namespace, id, created_at) VALUES(?1,?2,?3)"));
    st.Bind(1, ns).Bind(2, l.id).Bind(3, l.created_at);
    Status s = st.Run();
    if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("lease \"", l.id, "\": already exists"));
    RETURN_IF_ERROR(s);
    return tx.SetLabels(ns, kKind, l.id, l.labels);
  }));
  return l;
}

Status LeaseStore::Delete(const std::string& ns, const std::string& id) {
  return db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("DELETE FROM leases WHERE namespace=?1 AND id=?2"));
    st.Bind(1, ns).Bind(2, id);
    RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return absl::NotFoundError(StrCat("lease \"", id, "\": not found"));
    ASSIGN_OR_RETURN(Stmt res, tx.Prepare("DELETE FROM lease_resources WHERE namespace=?1 AND lease=?2"));
    res.Bind(1, ns).Bind(2, id);
    RETURN_IF_ERROR(res.Run());
    return tx.DeleteLabels(ns, kKind, id);
  });
}

StatusOr<std::vector<Lease>> LeaseStore::List(const std::string& ns, const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
  std::vector<Lease> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    std::vector<std::pair<std::string, int64_t>> rows;
    {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT id, created_at FROM leases WHERE namespace=?1 ORDER BY id"));
      st.Bind(1, ns);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        rows.emplace_back(st.Text(0), st.Int(1));
      }
    }
    for (const auto& [id, created] : rows) {
      ASSIGN_OR_RETURN(Lease l, ReadLease(tx, ns, id, created));
      auto adaptor = [&l](const FieldPath& p) -> std::optional<std::string> {
        if (p.empty()) return std::nullopt;
        if (p[0] == "id") return l.id.empty() ? std::nullopt : std::optional<std::string>(l.id);
        if (p[0] == "labels") return LookupLabel(l.labels, p);
        return std::nullopt;
      };
      if (filter.Match(adaptor)) out.push_back(std::move(l));
    }
    return Status();
  }));
  return out;
}

Status LeaseStore::AddResource(const std::string& ns, const std::string& id, const LeaseResource& r) {
  ASSIGN_OR_RETURN(std::string rid, ValidateLeaseResource(r));
  return db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(RequireLease(tx, ns, id));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare(
        "INSERT OR IGNORE INTO lease_resources(namespace, lease, type, id) VALUES(?1,?2,?3,?4)"));
    st.Bind(1, ns).Bind(2, id).Bind(3, r.type).Bind(4, rid);
    return st.Run();
  });
}

Status LeaseStore::DeleteResource(const std::string& ns, const std::string& id, const LeaseResource& r) {
  ASSIGN_OR_RETURN(std::string rid, ValidateLeaseResource(r));
  return db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(RequireLease(tx, ns, id));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare(
        "DELETE FROM lease_resources WHERE namespace=?1 AND lease=?2 AND type=?3 AND id=?4"));
    st.Bind(1, ns).Bind(2, id).Bind(3, r.type).Bind(4, rid);
    return st.Run();
  });
}

StatusOr<std::vector<LeaseResource>> LeaseStore::ListResources(const std::string& ns, const std::string& id) {
  std::vector<LeaseResource> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(RequireLease(tx, ns, id));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare(
        "SELECT id, type FROM lease_resources WHERE namespace=?1 AND lease=?2 ORDER BY type, id"));
    st.Bind(1, ns).Bind(2, id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(LeaseResource{st.Text(0), st.Text(1)});
    }
    return Status();
  }));
  return out;
}

}  // namespace berth::metadata
