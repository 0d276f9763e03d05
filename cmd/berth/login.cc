// berth login [SERVER] / berth logout [SERVER], as docker's:
//   login -u USER (-p PASS | --password-stdin) [--tlscacert FILE] [--plain-http] [SERVER]
//     checks the credentials against SERVER's /v2/ (basic or bearer-token auth) and stores them
//     in docker's config.json ($DOCKER_CONFIG, else ~/.docker); prompts for what is missing
//     when stdin is a terminal. SERVER defaults to Docker Hub.
//   logout [SERVER]   removes them.
// pull and push read them back (cmd/berth/registry_auth.h).
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cmd/berth/commands.h"
#include "cmd/berth/registry_auth.h"
#include "remotes/auth_config.h"
#include "remotes/registry.h"

namespace berth::cli {
namespace {

std::string Prompt(const std::string& what, bool echo) {
  std::cerr << what << std::flush;
  termios old{};
  bool tty = isatty(0) && tcgetattr(0, &old) == 0;
  if (tty && !echo) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(0, TCSANOW, &t);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty && !echo) {
    tcsetattr(0, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

// Docker Hub's login goes to its registry host; everything else to the host given.
std::string PingHost(const std::string& key) {
  return key == remotes::kDockerHubAuthKey ? "registry-1.docker.io" : key;
}

}  // namespace

void SetupLogin(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("login", "log in to a registry (credentials kept in ~/.docker/config.json)");
  static std::string server, user, pass, cafile;
  static bool stdin_pass = false, plain_http = false;
  c->add_option("server", server, "registry host[:port] (default: Docker Hub)");
  c->add_option("-u,--username", user, "username");
  c->add_option("-p,--password", pass, "password (prefer --password-stdin)");
  c->add_flag("--password-stdin", stdin_pass, "read the password from stdin");
  c->add_option("--tlscacert", cafile, "PEM file of the CA that signed the registry's certificate");
  c->add_flag("--plain-http", plain_http, "talk HTTP to the registry");
  c->callback([&g] {
    auto fail = [&g](const std::string& m) {
      std::cerr << "berth: " << m << "\n";
      g.exit_code = 1;
    };
    if (stdin_pass && !pass.empty()) return fail("--password and --password-stdin are mutually exclusive");
    if (stdin_pass && user.empty()) return fail("must provide --username with --password-stdin");
    if (!pass.empty() && !stdin_pass) std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
    if (stdin_pass) {
      std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
      pass = all;
    }
    std::string key = remotes::AuthKeyFor(server);
    if (user.empty()) user = Prompt("Username: ", true);
    if (pass.empty()) pass = Prompt("Password: ", false);
    if (user.empty()) return fail("username is required");
    remotes::RegistryOptions ro;
    ro.plain_http = plain_http;
    ro.username = user;
    ro.password = pass;
    std::string host = PingHost(key);
    if (!cafile.empty()) {
      auto a = AccessFor(host, cafile);
      if (!a.ok()) return fail(std::string(a.status().message()));
      ro.ca_pem = a->ca_pem;
    } else {
      auto ca = CertsDirCa(host);
      if (!ca.ok()) return fail(std::string(ca.status().message()));
      ro.ca_pem = *ca;
    }
    remotes::Registry reg(ro);
    Status s = reg.Ping(host);
    if (!s.ok() && !absl::IsUnauthenticated(s)) s = ExplainRegistryError(s, host, "GET /v2/");
    if (!s.ok()) return fail(StrCat("login to ", host, " failed: ", s.message()));
    std::string path = remotes::DockerConfigPath();
    auto cfg = remotes::AuthConfig::Load(path);
    if (!cfg.ok()) return fail(std::string(cfg.status().message()));
    cfg->Set(key, {user, pass, ""});
    if (Status w = cfg->Save(path); !w.ok()) return fail(std::string(w.message()));
    std::cerr << "WARNING! Your password will be stored unencrypted in " << path << ".\n";
    std::cout << "Login Succeeded\n";
  });
}

void SetupLogout(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("logout", "remove a registry's credentials from ~/.docker/config.json");
  static std::string server;
  c->add_option("server", server, "registry host[:port] (default: Docker Hub)");
  c->callback([&g] {
    std::string path = remotes::DockerConfigPath();
    auto cfg = remotes::AuthConfig::Load(path);
    if (!cfg.ok()) {
      std::cerr << "berth: " << cfg.status().message() << "\n";
      g.exit_code = 1;
      return;
    }
    std::string key = remotes::AuthKeyFor(server);
    if (!cfg->Erase(key)) {
      std::cout << "Not logged in to " << key << "\n";
      return;
    }
    std::cout << "Removing login credentials for " << key << "\n";
    if (Status w = cfg->Save(path); !w.ok()) {
      std::cerr << "berth: " << w.message() << "\n";
      g.exit_code = 1;
    }
  });
}

}  // namespace berth::cli
