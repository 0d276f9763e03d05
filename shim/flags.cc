#include "shim/flags.h"

#include "shim/sha256.h"

namespace berth::shim {

StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  size_t i = 0;
  for (; i < args.size(); i++) {
    std::string a = args[i];
    if (a.size() < 2 || a[0] != '-') break;
    if (a == "--") {
      i++;
      break;
    }
    a.erase(0, a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a.resize(eq);
      has_value = true;
    }
    if (a == "debug") {
      f.debug = !has_value || value == "true" || value == "1";
      continue;
    }
    std::string* dst = nullptr;
    if (a == "namespace") dst = &f.ns;
    else if (a == "address") dst = &f.address;
    else if (a == "publish-binary") dst = &f.publish_binary;
    else if (a == "id") dst = &f.id;
    else if (a == "bundle") dst = &f.bundle;
    if (!dst) return absl::InvalidArgumentError(StrCat("flag provided but not defined: -", a));
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(StrCat("flag needs an argument: -", a));
      }
      value = args[++i];
    }
    *dst = value;
  }
  if (i < args.size()) f.action = args[i];
  if (!f.action.empty() && f.action != "start" && f.action != "delete") {
    return absl::InvalidArgumentError(StrCat("unknown action \"", f.action, "\""));
  }
  if (f.ns.empty()) return absl::InvalidArgumentError("shim namespace cannot be empty");
  if (f.id.empty()) return absl::InvalidArgumentError("shim id cannot be empty");
  return f;
}

std::string CleanPath(const std::string& path) {
  if (path.empty()) return ".";
  bool abs = path[0] == '/';
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string p = path.substr(i, j - i);
    i = j + 1;
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!abs) parts.push_back("..");
      continue;
    }
    parts.push_back(p);
  }
  std::string out = abs ? "/" : "";
  for (size_t k = 0; k < parts.size(); k++) {
    if (k) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

std::string SocketAddress(const std::string& socket_root, const std::string& address,
                          const std::string& ns, const std::string& id) {
  std::string joined = CleanPath(address + "/" + ns + "/" + id);
  return StrCat("unix://", CleanPath(socket_root + "/s"), "/", Sha256Hex(joined));
}

}  // namespace berth::shim
