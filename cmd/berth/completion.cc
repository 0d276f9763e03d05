// berth completion bash: a bash completion script made from the command tree itself (every
// subcommand and its flags, so it never lags behind), plus container names for the commands
// that take a container and image names for those that take an image (asked of berthd with
// `berth ps -a` / `berth images` when completing). Install:
//   berth completion bash > /etc/bash_completion.d/berth
#include <iostream>
#include <set>

#include "cmd/berth/commands.h"

namespace berth::cli {
namespace {

std::string Flags(const CLI::App* a) {
  std::string out;
  for (const CLI::Option* o : a->get_options()) {
    for (const auto& n : o->get_lnames()) out += " --" + n;
    for (const auto& n : o->get_snames()) out += " -" + n;
  }
  return out;
}

// One case arm per command path ("run", "volume create"), words = subcommands and flags.
void Walk(const CLI::App* a, const std::string& path, std::ostream& out) {
  std::string words = Flags(a);
  for (const CLI::App* s : a->get_subcommands({})) words += " " + s->get_name();
  out << "    \"" << path << "\") words=\"" << words.substr(words.empty() ? 0 : 1) << "\" ;;\n";
  for (const CLI::App* s : a->get_subcommands({})) Walk(s, path.empty() ? s->get_name() : path + " " + s->get_name(), out);
}

}  // namespace

void SetupCompletion(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("completion", "print a shell completion script (bash)");
  static std::string shell;
  c->add_option("shell", shell, "shell: bash")->required()->check(CLI::IsMember({"bash"}));
  CLI::App* root = &app;
  c->callback([root] {
    std::cout << "# bash completion for berth (berth completion bash)\n"
                 "_berth() {\n"
                 "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" w i words\n"
                 "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
                 "    w=${COMP_WORDS[i]}\n"
                 "    [[ $w == -* ]] && continue\n"
                 "    if _berth_is_cmd \"${path:+$path }$w\"; then path=\"${path:+$path }$w\"; fi\n"
                 "  done\n"
                 "  case \"$path\" in\n";
    Walk(root, "", std::cout);
    std::cout << "    *) words=\"\" ;;\n"
                 "  esac\n"
                 "  case \"$path\" in\n"
                 "    start|stop|restart|kill|rm|logs|exec|pause|unpause|inspect|wait|top|rename|stats|cp)\n"
                 "      [[ $cur != -* ]] && words=\"$words $(berth ps -a --format '{{.Names}}' 2>/dev/null)\" ;;\n"
                 "    run|create|rmi|push|save|tag|pull)\n"
                 "      [[ $cur != -* ]] && words=\"$words $(berth images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null)\" ;;\n"
                 "  esac\n"
                 "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
                 "}\n"
                 "_berth_is_cmd() {\n"
                 "  case \"$1\" in\n";
    std::function<void(const CLI::App*, const std::string&)> names = [&](const CLI::App* a, const std::string& p) {
      for (const CLI::App* s : a->get_subcommands({})) {
        std::string q = p.empty() ? s->get_name() : p + " " + s->get_name();
        std::cout << "    \"" << q << "\") return 0 ;;\n";
        names(s, q);
      }
    };
    names(root, "");
    std::cout << "  esac\n  return 1\n}\ncomplete -F _berth berth\n";
  });
}

}  // namespace berth::cli
