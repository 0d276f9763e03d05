#include "shim/stats.h"

#include <unistd.h>

#include <map>
#include <sstream>

#include "common/fs.h"
#include "containerd/cgroups/v1/metrics.pb.h"
#include "containerd/cgroups/v2/metrics.pb.h"

namespace berth::shim {

namespace {

using google::protobuf::Message;

uint64_t ReadU64(const std::string& path) {
  StatusOr<std::string> s = ReadFile(path);
  if (!s.ok()) return 0;
  try {
    if (s->rfind("max", 0) == 0) return UINT64_MAX;
    return std::stoull(*s);
  } catch (...) {
    return 0;
  }
}

std::map<std::string, uint64_t> ReadKeyed(const std::string& path) {
  std::map<std::string, uint64_t> m;
  StatusOr<std::string> s = ReadFile(path);
  if (!s.ok()) return m;
  std::istringstream in(*s);
  std::string k;
  uint64_t v;
  while (in >> k >> v) m[k] = v;
  return m;
}

// Sets every uint64 field of `msg` whose name (after `rename`) matches a key of `kv`.
void FillByName(const std::map<std::string, uint64_t>& kv,
                const std::map<std::string, std::string>& rename, Message* msg) {
  const auto* d = msg->GetDescriptor();
  const auto* r = msg->GetReflection();
  for (const auto& [key, value] : kv) {
    std::string name = key;
    if (auto it = rename.find(key); it != rename.end()) name = it->second;
    const auto* f = d->FindFieldByName(name);
    if (f && f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64 &&
        !f->is_repeated()) {
      r->SetUInt64(msg, f, value);
    }
  }
}

void CollectV1(const std::map<std::string, std::string>& paths, google::protobuf::Any* out) {
  io::containerd::cgroups::v1::Metrics m;
  auto dir = [&](const std::string& ctl) -> std::string {
    auto it = paths.find(ctl);
    return it == paths.end() ? "" : StrCat("/sys/fs/cgroup/", ctl, it->second);
  };
  if (std::string d = dir("pids"); !d.empty()) {
    m.mutable_pids()->set_current(ReadU64(d + "/pids.current"));
    uint64_t limit = ReadU64(d + "/pids.max");
    m.mutable_pids()->set_limit(limit == UINT64_MAX ? 0 : limit);
  }
  if (std::string d = dir("cpuacct"); !d.empty()) {
    auto* u = m.mutable_cpu()->mutable_usage();
    u->set_total(ReadU64(d + "/cpuacct.usage"));
    u->set_user(ReadU64(d + "/cpuacct.usage_user"));
    u->set_kernel(ReadU64(d + "/cpuacct.usage_sys"));
    if (StatusOr<std::string> per = ReadFile(d + "/cpuacct.usage_percpu"); per.ok()) {
      std::istringstream in(*per);
      uint64_t v;
      while (in >> v) u->add_per_cpu(v);
    }
  }
  if (std::string d = dir("cpu"); !d.empty()) {
    auto st = ReadKeyed(d + "/cpu.stat");
    auto* t = m.mutable_cpu()->mutable_throttling();
    t->set_periods(st["nr_periods"]);
    t->set_throttled_periods(st["nr_throttled"]);
    t->set_throttled_time(st["throttled_time"]);
  }
  if (std::string d = dir("memory"); !d.empty()) {
    auto* mem = m.mutable_memory();
    static const std::map<std::string, std::string> kRename = {
        {"pgpgin", "pg_pg_in"}, {"pgpgout", "pg_pg_out"}, {"pgfault", "pg_fault"},
        {"pgmajfault", "pg_maj_fault"}, {"total_pgpgin", "total_pg_pg_in"},
        {"total_pgpgout", "total_pg_pg_out"}, {"total_pgfault", "total_pg_fault"},
        {"total_pgmajfault", "total_pg_maj_fault"},
        {"hierarchical_memsw_limit", "hierarchical_swap_limit"}};
    FillByName(ReadKeyed(d + "/memory.stat"), kRename, mem);
    auto entry = [&](const std::string& prefix, io::containerd::cgroups::v1::MemoryEntry* e) {
      e->set_usage(ReadU64(StrCat(d, "/", prefix, "usage_in_bytes")));
      e->set_limit(ReadU64(StrCat(d, "/", prefix, "limit_in_bytes")));
      e->set_max(ReadU64(StrCat(d, "/", prefix, "max_usage_in_bytes")));
      e->set_failcnt(ReadU64(StrCat(d, "/", prefix, "failcnt")));
    };
    entry("memory.", mem->mutable_usage());
    entry("memory.memsw.", mem->mutable_swap());
    entry("memory.kmem.", mem->mutable_kernel());
    entry("memory.kmem.tcp.", mem->mutable_kernel_tcp());
    auto oom = ReadKeyed(d + "/memory.oom_control");
    m.mutable_memory_oom_control()->set_oom_kill_disable(oom["oom_kill_disable"]);
    m.mutable_memory_oom_control()->set_under_oom(oom["under_oom"]);
    m.mutable_memory_oom_control()->set_oom_kill(oom["oom_kill"]);
  }
  out->set_type_url("io.containerd.cgroups.v1.Metrics");
  out->set_value(m.SerializeAsString());
}

void CollectV2(const std::string& path, google::protobuf::Any* out) {
  io::containerd::cgroups::v2::Metrics m;
  std::string d = "/sys/fs/cgroup" + path;
  m.mutable_pids()->set_current(ReadU64(d + "/pids.current"));
  uint64_t limit = ReadU64(d + "/pids.max");
  m.mutable_pids()->set_limit(limit == UINT64_MAX ? 0 : limit);
  FillByName(ReadKeyed(d + "/cpu.stat"), {}, m.mutable_cpu());
  FillByName(ReadKeyed(d + "/memory.stat"), {}, m.mutable_memory());
  m.mutable_memory()->set_usage(ReadU64(d + "/memory.current"));
  m.mutable_memory()->set_usage_limit(ReadU64(d + "/memory.max"));
  m.mutable_memory()->set_swap_usage(ReadU64(d + "/memory.swap.current"));
  m.mutable_memory()->set_swap_limit(ReadU64(d + "/memory.swap.max"));
  FillByName(ReadKeyed(d + "/memory.events"), {}, m.mutable_memory_events());
  out->set_type_url("io.containerd.cgroups.v2.Metrics");
  out->set_value(m.SerializeAsString());
}

}  // namespace

Status CollectCgroupStats(int pid, google::protobuf::Any* out) {
  StatusOr<std::string> text = ReadFile(StrCat("/proc/", pid, "/cgroup"));
  if (!text.ok()) return Annotate(text.status(), "read task cgroups");
  std::map<std::string, std::string> v1;
  std::string unified;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':');
    size_t b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (ctls.empty()) {
      unified = path;
      continue;
    }
    std::istringstream cs(ctls);
    std::string c;
    while (std::getline(cs, c, ',')) v1[c] = path;
  }
  if (v1.empty() || (v1.size() == 1 && v1.count("name=systemd"))) {
    CollectV2(unified, out);
  } else {
    CollectV1(v1, out);
  }
  return absl::OkStatus();
}

}  // namespace berth::shim
