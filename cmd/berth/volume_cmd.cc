// berth volume create|ls|inspect|rm|prune (volumes.h keeps them).
//   create [-l K=V]... [NAME]        prints the name (a random one when none is given)
//   ls [-q] [--format F]             DRIVER and VOLUME NAME, as docker lists them
//   inspect NAME...                  docker's JSON array
//   rm NAME...                       refuses volumes in use
//   prune [-a] [-f]                  removes unused anonymous volumes (-a: all unused ones)
#include <iostream>

#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"
#include "cmd/berth/volumes.h"

namespace berth::cli {
namespace {

}  // namespace

nlohmann::json VolumeInspectJson(const Volume& v) {
  return {{"CreatedAt", v.created_at}, {"Driver", "local"}, {"Labels", v.labels},
          {"Mountpoint", v.mountpoint}, {"Name", v.name},   {"Options", nullptr},
          {"Scope", "local"}};
}

namespace {

std::string LabelsText(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace

void SetupVolume(CLI::App& app, Globals& g) {
  auto* vol = app.add_subcommand("volume", "manage named volumes");
  vol->require_subcommand(1);

  auto* create = vol->add_subcommand("create", "create a volume (an existing one is left as it is)");
  static std::string name;
  static std::vector<std::string> labels;
  create->add_option("-l,--label", labels, "set a label (KEY=VALUE)")->allow_extra_args(false);
  create->add_option("name", name, "volume name (default: a random one)");
  create->callback([&g] {
    std::map<std::string, std::string> l;
    for (const auto& kv : labels) {
      size_t eq = kv.find('=');
      l[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    auto v = CreateVolume(g, name.empty() ? AnonymousVolumeName() : name, l);
    if (!v.ok()) return void(g.exit_code = Fail(v.status(), 1));
    std::cout << v->name << "\n";
  });

  auto* ls = vol->add_subcommand("ls", "list volumes");
  static bool quiet = false;
  static std::string format;
  ls->alias("list");
  ls->add_flag("-q,--quiet", quiet, "print only names");
  ls->add_option("--format", format, "Go template ({{.Name}}, {{json .}}, table ...) or json");
  ls->callback([&g] {
    auto vols = ListVolumes(g);
    if (!vols.ok()) return void(g.exit_code = Fail(vols.status(), 1));
    if (quiet) {
      for (const auto& v : *vols) std::cout << v.name << "\n";
      return;
    }
    if (format.empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& v : *vols) rows.push_back({"local", v.name});
      PrintTable({"DRIVER", "VOLUME NAME"}, rows);
      return;
    }
    auto t = Template::Parse(format == "json" ? "{{json .}}" : format, {{"Name", "VOLUME NAME"}});
    if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
    std::vector<nlohmann::json> rows;
    for (const auto& v : *vols) {
      nlohmann::json j = VolumeInspectJson(v);
      j["Labels"] = LabelsText(v.labels);
      rows.push_back(j);
    }
    if (Status s = PrintFormatted(*t, rows); !s.ok()) g.exit_code = Fail(s, 1);
  });

  auto* inspect = vol->add_subcommand("inspect", "print volumes as JSON");
  static std::vector<std::string> inspect_names;
  static std::string inspect_format;
  inspect->add_option("-f,--format", inspect_format, "Go template applied to each volume");
  inspect->add_option("name", inspect_names, "volume names")->required();
  inspect->callback([&g] {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : inspect_names) {
      auto v = GetVolume(g, n);
      if (!v.ok()) {
        std::cerr << "berth: " << v.status().message() << "\n";
        g.exit_code = 1;
        continue;
      }
      arr.push_back(VolumeInspectJson(*v));
    }
    if (inspect_format.empty()) {
      std::cout << arr.dump(4) << "\n";
      return;
    }
    auto t = Template::Parse(inspect_format);
    if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
    if (Status s = PrintFormatted(*t, {arr.begin(), arr.end()}); !s.ok()) g.exit_code = Fail(s, 1);
  });

  auto* rm = vol->add_subcommand("rm", "remove volumes that no container uses");
  static std::vector<std::string> rm_names;
  rm->alias("remove");
  rm->add_option("name", rm_names, "volume names")->required();
  rm->callback([&g] {
    for (const auto& n : rm_names) {
      Status s = RemoveVolume(g, n);
      if (s.ok()) {
        std::cout << n << "\n";
      } else {
        std::cerr << "berth: " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });

  auto* prune = vol->add_subcommand("prune", "remove unused anonymous volumes (-a: every unused volume)");
  static bool all = false, force = false;
  prune->add_flag("-a,--all", all, "remove unused named volumes too");
  prune->add_flag("-f,--force", force, "do not ask (berth never asks: accepted for docker's sake)");
  prune->callback([&g] {
    auto vols = ListVolumes(g);
    if (!vols.ok()) return void(g.exit_code = Fail(vols.status(), 1));
    auto used = VolumesInUse(g);
    if (!used.ok()) return void(g.exit_code = Fail(used.status(), 1));
    std::cout << "Deleted Volumes:\n";
    for (const auto& v : *vols) {
      if (used->count(v.name) || (!all && !v.labels.contains(kLabelVolumeAnonymous))) continue;
      Status s = RemoveVolume(g, v.name);
      if (s.ok()) {
        std::cout << v.name << "\n";
      } else {
        std::cerr << "berth: " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });
}

}  // namespace berth::cli
