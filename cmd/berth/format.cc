#include "cmd/berth/format.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "cmd/berth/commands.h"

namespace berth::cli {

using nlohmann::json;

// A parsed template: text, {{pipeline}}, {{if}} and {{range}} blocks.
struct Template::Node {
  enum Kind { kText, kAction, kIf, kRange } kind = kText;
  std::string text;                          // kText
  std::vector<std::string> args;             // kAction/kIf/kRange: words of the pipeline
  std::vector<std::shared_ptr<Node>> body;   // kIf (then) / kRange
  std::vector<std::shared_ptr<Node>> other;  // kIf (else)
};

namespace {

using NodeList = std::vector<std::shared_ptr<Template::Node>>;

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Words of an action: quoted strings keep their quotes (to tell them from fields).
StatusOr<std::vector<std::string>> Words(const std::string& action) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < action.size()) {
    if (isspace(static_cast<unsigned char>(action[i]))) {
      ++i;
      continue;
    }
    if (action[i] == '"' || action[i] == '`') {
      char q = action[i];
      std::string w(1, '"');
      ++i;
      while (i < action.size() && action[i] != q) {
        if (q == '"' && action[i] == '\\' && i + 1 < action.size()) {
          ++i;
          w += action[i] == 'n' ? '\n' : action[i] == 't' ? '\t' : action[i];
        } else {
          w += action[i];
        }
        ++i;
      }
      if (i >= action.size()) return absl::InvalidArgumentError("unterminated string in template");
      ++i;
      out.push_back(w);
      continue;
    }
    size_t j = i;
    while (j < action.size() && !isspace(static_cast<unsigned char>(action[j]))) ++j;
    out.push_back(action.substr(i, j - i));
    i = j;
  }
  return out;
}

// Parses nodes until {{end}}/{{else}} (returned in *stop) or the end of input.
Status ParseNodes(const std::string& s, size_t& pos, NodeList& out, std::string* stop) {
  while (pos < s.size()) {
    size_t open = s.find("{{", pos);
    if (open != pos) {
      auto n = std::make_shared<Template::Node>();
      n->text = s.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
      out.push_back(n);
      if (open == std::string::npos) {
        pos = s.size();
        break;
      }
    }
    size_t close = s.find("}}", open);
    if (close == std::string::npos) return absl::InvalidArgumentError("unclosed {{ in template");
    std::string action = s.substr(open + 2, close - open - 2);
    if (!action.empty() && action.front() == '-') action.erase(0, 1);
    if (!action.empty() && action.back() == '-') action.pop_back();
    pos = close + 2;
    ASSIGN_OR_RETURN(std::vector<std::string> words, Words(action));
    if (words.empty()) return absl::InvalidArgumentError("empty {{}} in template");
    if (words[0] == "end" || words[0] == "else") {
      if (stop == nullptr) return absl::InvalidArgumentError(StrCat("unexpected {{", words[0], "}} in template"));
      *stop = words[0];
      return Status();
    }
    auto n = std::make_shared<Template::Node>();
    if (words[0] == "if" || words[0] == "range") {
      n->kind = words[0] == "if" ? Template::Node::kIf : Template::Node::kRange;
      n->args.assign(words.begin() + 1, words.end());
      if (n->args.empty()) return absl::InvalidArgumentError(StrCat("{{", words[0], "}} needs an argument"));
      std::string end;
      RETURN_IF_ERROR(ParseNodes(s, pos, n->body, &end));
      if (end == "else") {
        end.clear();
        RETURN_IF_ERROR(ParseNodes(s, pos, n->other, &end));
      }
      if (end != "end") return absl::InvalidArgumentError(StrCat("{{", words[0], "}} without {{end}}"));
    } else {
      n->kind = Template::Node::kAction;
      n->args = words;
    }
    out.push_back(n);
  }
  if (stop != nullptr) *stop = "";
  return Status();
}

StatusOr<json> Field(const json& dot, const std::string& path) {
  if (path == ".") return dot;
  json cur = dot;
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('.', i);
    std::string key = path.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!cur.is_object()) return absl::InvalidArgumentError(StrCat("can't evaluate field ", key, " in ", GoString(cur)));
    if (!cur.contains(key)) return absl::InvalidArgumentError(StrCat("can't evaluate field ", key));
    json next = cur[key];
    cur = std::move(next);
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return cur;
}

StatusOr<json> Arg(const json& dot, const std::string& w) {
  if (!w.empty() && w[0] == '"') return json(w.substr(1));
  if (!w.empty() && w[0] == '.') return Field(dot, w);
  if (w == "true" || w == "false") return json(w == "true");
  if (!w.empty() && w.find_first_not_of("-0123456789") == std::string::npos) return json(std::stoll(w));
  return absl::InvalidArgumentError(StrCat("function \"", w, "\" not defined"));
}

bool Truth(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get<std::string>().empty();
  return !v.empty();
}

StatusOr<json> Printf(const json& dot, const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1][0] != '"') return absl::InvalidArgumentError("printf needs a format string");
  std::string fmt = args[1].substr(1), out;
  size_t next = 2;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      out += fmt[i];
      continue;
    }
    char verb = fmt[++i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) return absl::InvalidArgumentError("printf: missing argument");
    ASSIGN_OR_RETURN(json v, Arg(dot, args[next++]));
    out += verb == 'q' ? json(GoString(v)).dump() : GoString(v);
  }
  return json(out);
}

StatusOr<json> Eval(const json& dot, const std::vector<std::string>& w) {
  const std::string& f = w[0];
  if (f == "printf") return Printf(dot, w);
  auto arg = [&](size_t i) -> StatusOr<json> {
    if (i >= w.size()) return absl::InvalidArgumentError(StrCat(f, ": missing argument"));
    return Arg(dot, w[i]);
  };
  if (f == "json") {
    ASSIGN_OR_RETURN(json v, arg(1));
    return json(v.dump());
  }
  if (f == "index") {
    ASSIGN_OR_RETURN(json m, arg(1));
    ASSIGN_OR_RETURN(json k, arg(2));
    if (m.is_object() && k.is_string()) return m.contains(k.get<std::string>()) ? m[k.get<std::string>()] : json();
    if (m.is_array() && k.is_number_integer()) {
      auto i = k.get<int64_t>();
      if (i < 0 || i >= static_cast<int64_t>(m.size())) return absl::InvalidArgumentError("index out of range");
      return m[static_cast<size_t>(i)];
    }
    return json();
  }
  if (f == "join") {
    ASSIGN_OR_RETURN(json a, arg(1));
    ASSIGN_OR_RETURN(json sep, arg(2));
    std::string out;
    if (a.is_array()) {
      for (const auto& e : a) out += (out.empty() ? "" : sep.get<std::string>()) + GoString(e);
    }
    return json(out);
  }
  if (f == "upper" || f == "lower" || f == "title") {
    ASSIGN_OR_RETURN(json a, arg(1));
    std::string s = GoString(a);
    if (f == "title") {
      if (!s.empty()) s[0] = static_cast<char>(toupper(static_cast<unsigned char>(s[0])));
    } else {
      std::transform(s.begin(), s.end(), s.begin(), f == "upper" ? ::toupper : ::tolower);
    }
    return json(s);
  }
  if (f == "len") {
    ASSIGN_OR_RETURN(json a, arg(1));
    return json(a.is_string() ? a.get<std::string>().size() : a.size());
  }
  if (w.size() != 1) return absl::InvalidArgumentError(StrCat("function \"", f, "\" not defined"));
  return Arg(dot, f);
}

Status Exec(const NodeList& nodes, const json& dot, std::string& out) {
  for (const auto& n : nodes) {
    switch (n->kind) {
      case Template::Node::kText:
        out += n->text;
        break;
      case Template::Node::kAction: {
        ASSIGN_OR_RETURN(json v, Eval(dot, n->args));
        out += GoString(v);
        break;
      }
      case Template::Node::kIf: {
        ASSIGN_OR_RETURN(json v, Eval(dot, n->args));
        RETURN_IF_ERROR(Exec(Truth(v) ? n->body : n->other, dot, out));
        break;
      }
      case Template::Node::kRange: {
        ASSIGN_OR_RETURN(json v, Eval(dot, n->args));
        if (v.is_array() || v.is_object()) {
          for (const auto& e : v) RETURN_IF_ERROR(Exec(n->body, e, out));
        }
        break;
      }
    }
  }
  return Status();
}

}  // namespace

std::string GoString(const json& v) {
  if (v.is_null()) return "<no value>";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number()) {
    std::ostringstream o;
    o << v.get<double>();
    return o.str();
  }
  std::string out = v.is_object() ? "map[" : "[";
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out += " ";
    first = false;
    if (v.is_object()) out += it.key() + ":";
    out += GoString(*it);
  }
  return out + "]";
}

StatusOr<Template> Template::Parse(const std::string& format, std::map<std::string, std::string> headers) {
  Template t;
  t.headers_ = std::move(headers);
  std::string f = format;
  if (f == "table" || f.rfind("table ", 0) == 0) {
    t.table_ = true;
    f = f.size() > 6 ? f.substr(6) : "";
  }
  t.source_ = Unescape(f);
  size_t pos = 0;
  Status s = ParseNodes(t.source_, pos, t.nodes_, nullptr);
  if (!s.ok()) return absl::InvalidArgumentError(StrCat("--format \"", format, "\": ", s.message()));
  return t;
}

StatusOr<std::string> Template::Render(const json& v) const {
  std::string out;
  Status s = Exec(nodes_, v, out);
  if (!s.ok()) return absl::InvalidArgumentError(StrCat("--format: ", s.message()));
  return out;
}

std::string Template::Header() const {
  std::string out;
  for (const auto& n : nodes_) {
    if (n->kind == Node::kText) {
      out += n->text;
    } else if (n->kind == Node::kAction) {
      std::string field = n->args.back();
      if (field.size() > 1 && field[0] == '.') field = field.substr(1);
      auto h = headers_.find(field);
      if (h != headers_.end()) {
        out += h->second;
      } else {
        std::transform(field.begin(), field.end(), field.begin(), ::toupper);
        out += field;
      }
    }
  }
  return out;
}

Status PrintFormatted(const Template& t, const std::vector<json>& rows) {
  if (!t.is_table()) {
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(std::string line, t.Render(r));
      std::cout << line << "\n";
    }
    return Status();
  }
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      cells.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    return cells;
  };
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    ASSIGN_OR_RETURN(std::string line, t.Render(r));
    cells.push_back(split(line));
  }
  PrintTable(split(t.Header()), cells);
  return Status();
}

}  // namespace berth::cli
