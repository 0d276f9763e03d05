#include "remotes/reference.h"

#include <cctype>

#include "common/digest.h"

namespace berth::remotes {
namespace {

bool ValidPathComponent(const std::string& c) {
  // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
  if (c.empty()) return false;
  if (!std::isalnum(static_cast<unsigned char>(c.front())) || !std::isalnum(static_cast<unsigned char>(c.back()))) {
    return false;
  }
  for (size_t i = 0; i < c.size(); ++i) {
    unsigned char ch = c[i];
    if (std::islower(ch) || std::isdigit(ch)) continue;
    if (ch == '.' || ch == '_' || ch == '-') {
      if (ch == '.' && (c[i - 1] == '.' || c[i + 1] == '.')) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool ValidTag(const std::string& t) {
  // [\w][\w.-]{0,127}
  if (t.empty() || t.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(t[0])) && t[0] != '_') return false;
  for (unsigned char ch : t) {
    if (!std::isalnum(ch) && ch != '_' && ch != '.' && ch != '-') return false;
  }
  return true;
}

bool ValidDomain(const std::string& d) {
  if (d.empty()) return false;
  for (unsigned char ch : d) {
    if (!std::isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '[' && ch != ']') return false;
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  std::string s = domain + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::RegistryHost() const { return domain == "docker.io" ? "registry-1.docker.io" : domain; }

StatusOr<Reference> ParseReference(const std::string& in) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(StrCat("invalid reference \"", in, "\": ", why));
  };
  if (in.empty()) return bad("empty");
  if (in.size() > 4096) return bad("too long");
  std::string rest = in;
  Reference r;
  if (auto at = rest.find('@'); at != std::string::npos) {
    r.digest = rest.substr(at + 1);
    rest.resize(at);
    auto d = Digest::Parse(r.digest);
    if (!d.ok()) return bad("invalid digest");
  }
  // The tag is after the last ':' that follows the last '/'.
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    r.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!ValidTag(r.tag)) return bad("invalid tag");
  }
  std::string name = rest;
  size_t first_slash = name.find('/');
  std::string first = name.substr(0, first_slash);
  if (first_slash != std::string::npos &&
      (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost")) {
    r.domain = first;
    r.repository = name.substr(first_slash + 1);
    if (!ValidDomain(r.domain)) return bad("invalid registry host");
  } else {
    r.domain = "docker.io";
    r.repository = name;
  }
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  if (r.domain == "docker.io" && r.repository.find('/') == std::string::npos) r.repository = "library/" + r.repository;
  if (r.repository.empty()) return bad("empty repository");
  size_t start = 0;
  for (;;) {
    size_t slash = r.repository.find('/', start);
    std::string comp = r.repository.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!ValidPathComponent(comp)) {
      bool upper = false;
      for (unsigned char ch : comp) upper |= std::isupper(ch) != 0;
      return bad(upper ? "repository name must be lowercase" : "invalid repository name");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace berth::remotes
