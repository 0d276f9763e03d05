// --format: the subset of Go's text/template that docker users write, evaluated on JSON values
// (each command describes its rows as JSON objects with docker's field names).
//   {{.Field}} {{.A.B}} {{.}}          a value: strings as they are, numbers, true/false, objects
//                                       as Go prints maps (map[k:v]), arrays as [a b]
//   {{json .}} {{json .Field}}         the value as JSON
//   {{index .Labels "key"}}            a map's entry
//   {{join .List ", "}} {{upper X}} {{lower X}} {{len X}} {{printf "%s-%s" X Y}} (%s %d %v %q)
//   {{if X}}...{{else}}...{{end}}      X false, 0, "", null, empty array or object: false
//   {{range .List}}...{{end}}          `.` is each element in turn
//   table ...                          a header row, then rows; columns split at \t and aligned
// "\t" and "\n" written as backslash escapes in the format are turned into the characters, as
// docker does. Rendering is pure; errors are InvalidArgument naming the template.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::cli {

class Template {
 public:
  // `headers` maps a field to its column title for table formats (default: the field name in
  // capitals).
  static StatusOr<Template> Parse(const std::string& format, std::map<std::string, std::string> headers = {});
  bool is_table() const { return table_; }
  // One row (or, for a non-table format, one line) for `v`.
  StatusOr<std::string> Render(const nlohmann::json& v) const;
  // The header row of a table format.
  std::string Header() const;

  struct Node;

 private:
  bool table_ = false;
  std::vector<std::shared_ptr<Node>> nodes_;
  std::map<std::string, std::string> headers_;
  std::string source_;
};

// Prints rows rendered by a table template (header first), columns aligned like PrintTable;
// or each line as it is for a non-table template. Returns the first rendering error.
Status PrintFormatted(const Template& t, const std::vector<nlohmann::json>& rows);

// The Go rendering of a JSON value (what {{.X}} prints).
std::string GoString(const nlohmann::json& v);

}  // namespace berth::cli
