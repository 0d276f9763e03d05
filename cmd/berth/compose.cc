// berth compose: multi-container applications from compose files. The project model comes from
// compose/ (loader, interpolation, merge, profiles, normalisation); this file is the command line.
#include <iostream>

#include "cmd/berth/commands.h"
#include "compose/loader.h"
#include "compose/render.h"

namespace berth::cli {
namespace {

struct ComposeFlags {
  std::vector<std::string> files;
  std::string project_name;
  std::string project_directory;
  std::string env_file;
  std::vector<std::string> profiles;
};

StatusOr<compose::Project> LoadProject(const ComposeFlags& f) {
  compose::LoadOptions o;
  o.files = f.files;
  o.project_name = f.project_name;
  o.project_directory = f.project_directory;
  if (!f.project_directory.empty() && f.files.empty()) o.working_dir = f.project_directory;
  o.env_file = f.env_file;
  o.profiles = f.profiles;
  auto p = compose::Load(o);
  if (p.ok()) {
    for (const auto& w : p->warnings) std::cerr << "berth compose: warning: " << w << "\n";
  }
  return p;
}

}  // namespace

void SetupCompose(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("compose", "Define and run multi-container applications");
  c->require_subcommand(1);
  auto f = std::make_shared<ComposeFlags>();
  c->add_option("-f,--file", f->files, "compose file (repeatable; merged in order)");
  c->add_option("-p,--project-name", f->project_name, "project name (default: COMPOSE_PROJECT_NAME, name:, or the directory)");
  c->add_option("--project-directory", f->project_directory, "project directory (default: the first file's)");
  c->add_option("--env-file", f->env_file, "variables file (default: .env in the project directory)");
  c->add_option("--profile", f->profiles, "profile to enable (repeatable; default: COMPOSE_PROFILES)");

  auto* cfg = c->add_subcommand("config", "Validate the compose files and print the normalised model");
  auto services = std::make_shared<bool>(false), volumes = std::make_shared<bool>(false),
       networks = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
  auto hash = std::make_shared<std::string>();
  cfg->add_flag("--services", *services, "print the service names, one per line");
  cfg->add_flag("--volumes", *volumes, "print the volume names, one per line");
  cfg->add_flag("--networks", *networks, "print the network names, one per line");
  cfg->add_option("--hash", *hash, "print \"SERVICE HASH\" for the given services (\"*\" for all)");
  cfg->add_flag("-q,--quiet", *quiet, "only validate");
  cfg->callback([&g, f, services, volumes, networks, quiet, hash] {
    auto p = LoadProject(*f);
    if (!p.ok()) {
      std::cerr << "berth compose: " << p.status().message() << "\n";
      g.exit_code = 1;
      return;
    }
    if (*quiet) return;
    if (*services) {
      for (const auto& [name, _] : p->services) std::cout << name << "\n";
    } else if (*volumes) {
      for (const auto& [name, _] : p->volumes) std::cout << name << "\n";
    } else if (*networks) {
      for (const auto& [name, _] : p->networks) std::cout << name << "\n";
    } else if (!hash->empty()) {
      for (const auto& [name, s] : p->services) {
        if (*hash == "*" || *hash == name) std::cout << name << " " << compose::ConfigHash(s) << "\n";
      }
    } else {
      std::cout << compose::RenderYaml(*p);
    }
  });
}

}  // namespace berth::cli
