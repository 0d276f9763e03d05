// berth stats [--format json] [CONTAINER...]: one sample of what running containers use, as
// `docker stats --no-stream` prints it: CPU % over half a second, memory usage and limit, pids.
// Read from Tasks.Metrics (the shim's cgroup v1 or v2 figures); no argument means every task.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cmd/berth/containers.h"
#include "containerd/cgroups/v1/metrics.pb.h"
#include "containerd/cgroups/v2/metrics.pb.h"

namespace berth::cli {
namespace {

struct Sample {
  int64_t at_ns = 0;
  uint64_t cpu_ns = 0;  // cumulative CPU time of the cgroup
  uint64_t mem = 0, mem_limit = 0, pids = 0;
};

uint64_t HostMemory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return kb * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

// One Metrics call: the samples by container id, for `ids` (all when empty).
StatusOr<std::map<std::string, Sample>> Collect(const Globals& g, const std::vector<std::string>& ids) {
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::MetricsRequest req;
  for (const auto& id : ids) req.add_filters(StrCat("id==\"", id, "\""));
  tkv1::MetricsResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->Metrics(ctx.get(), req, &resp)));
  std::map<std::string, Sample> out;
  for (const auto& m : resp.metrics()) {
    Sample s;
    s.at_ns = m.timestamp().seconds() * 1000000000 + m.timestamp().nanos();
    const std::string& type = m.data().type_url();
    if (type.size() >= 32 && type.compare(type.size() - 32, 32, "io.containerd.cgroups.v2.Metrics") == 0) {
      io::containerd::cgroups::v2::Metrics v2;
      if (!v2.ParseFromString(m.data().value())) continue;
      s.cpu_ns = v2.cpu().usage_usec() * 1000;
      s.mem = v2.memory().usage();
      s.mem_limit = v2.memory().usage_limit();
      s.pids = v2.pids().current();
    } else if (type.size() >= 32 && type.compare(type.size() - 32, 32, "io.containerd.cgroups.v1.Metrics") == 0) {
      io::containerd::cgroups::v1::Metrics v1;
      if (!v1.ParseFromString(m.data().value())) continue;
      s.cpu_ns = v1.cpu().usage().total();
      s.mem = v1.memory().usage().usage();
      s.mem_limit = v1.memory().usage().limit();
      s.pids = v1.pids().current();
    } else {
      continue;
    }
    out[m.id()] = s;
  }
  return out;
}

Status Stats(const Globals& g, const std::vector<std::string>& args, const std::string& format) {
  std::vector<std::string> ids;
  for (const auto& a : args) {
    ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, a));
    ids.push_back(c.id());
  }
  ASSIGN_OR_RETURN(auto first, Collect(g, ids));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSIGN_OR_RETURN(auto second, Collect(g, ids));
  for (const auto& id : ids) {
    if (!second.count(id)) return absl::FailedPreconditionError(StrCat("container ", id, " is not running"));
  }
  const uint64_t host_mem = HostMemory();
  nlohmann::json arr = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [id, s] : second) {
    double cpu = 0;
    auto before = first.find(id);
    if (before != first.end() && s.at_ns > before->second.at_ns && s.cpu_ns >= before->second.cpu_ns) {
      cpu = 100.0 * static_cast<double>(s.cpu_ns - before->second.cpu_ns) /
            static_cast<double>(s.at_ns - before->second.at_ns);
    }
    // No limit reads as the largest value (or a page-rounded one): show the host's memory.
    uint64_t limit = s.mem_limit == 0 || s.mem_limit >= (uint64_t{1} << 62) ? host_mem : s.mem_limit;
    if (format == "json") {
      arr.push_back({{"id", id}, {"cpu_percent", cpu}, {"memory_usage", s.mem}, {"memory_limit", limit}, {"pids", s.pids}});
      continue;
    }
    std::ostringstream pct;
    pct << std::fixed << std::setprecision(2) << cpu << "%";
    rows.push_back({ShortId(id), pct.str(),
                    StrCat(HumanSize(static_cast<int64_t>(s.mem)), " / ", HumanSize(static_cast<int64_t>(limit))),
                    std::to_string(s.pids)});
  }
  if (format == "json") {
    std::cout << arr.dump(2) << "\n";
    return Status();
  }
  PrintTable({"CONTAINER ID", "CPU %", "MEM USAGE / LIMIT", "PIDS"}, rows);
  return Status();
}

}  // namespace

void SetupStats(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("stats", "one sample of running containers' CPU, memory and pids");
  static std::vector<std::string> ids;
  static std::string format;
  c->add_option("--format", format, "output format: table (default) or json")->check(CLI::IsMember({"table", "json"}));
  c->add_option("container", ids, "container ids or unique prefixes (default: all running)");
  c->callback([&g] {
    if (Status s = Stats(g, ids, format); !s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
