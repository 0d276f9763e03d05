// Loading a compose project: finding its files, the `.env` file, interpolation, merging several
// files in order, profiles, and conversion to the normalised model (compose/model.h).
//
// Files: `-f` in order, else COMPOSE_FILE (':'-separated), else the first of compose.yaml,
// compose.yml, docker-compose.yml, docker-compose.yaml in the working directory, plus its
// override file (compose.override.yaml / .yml, docker-compose.override.yml / .yaml) when present.
// The project directory is the first file's directory. Variables come from the process
// environment, then from `<project dir>/.env` (or `env_file`); the environment wins.
// Project name: `project_name`, else COMPOSE_PROJECT_NAME, else the top-level `name`, else the
// project directory's base name; lower-cased, characters other than [a-z0-9_-] dropped.
//
// Every key berth does not implement is an error naming file, line and key ("compose.yaml:7:
// services.web.build: not supported by berth compose"), never a silent ignore. Errors are
// InvalidArgument (a malformed or unsupported file, a reference to an undefined service,
// network or volume), NotFound (no compose file, a missing env_file).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "compose/interpolate.h"
#include "compose/model.h"

namespace berth::compose {

struct LoadOptions {
  std::vector<std::string> files;      // -f, in order; empty: COMPOSE_FILE or the default names
  std::string working_dir;             // where default files are looked up; empty: the cwd
  std::string project_directory;       // --project-directory; empty: the first file's directory
  std::string project_name;            // -p
  std::vector<std::string> profiles;   // --profile; empty: COMPOSE_PROFILES
  std::string env_file;                // --env-file; empty: <project dir>/.env when it exists
  Lookup environment;                  // the process environment; empty: getenv
};

StatusOr<Project> Load(const LoadOptions& options);

// One document already read, for Load's callers that have the text (and for tests).
struct SourceFile {
  std::string path;     // absolute; its directory is the project directory when it is first
  std::string content;
};
StatusOr<Project> LoadFiles(const std::vector<SourceFile>& files, const LoadOptions& options);

// Splits a command string the way compose does (POSIX shell words: quotes and backslashes, no
// expansion). InvalidArgument for an unterminated quote.
StatusOr<std::vector<std::string>> SplitCommand(std::string_view s);

// Go-style durations ("1m30s", "10s", "500ms", "1h", "2.5s"; a bare number is seconds) in ns.
StatusOr<int64_t> ParseDuration(std::string_view s);

// Byte sizes as compose writes them ("512m", "1g", "100k", "1024", "1.5GB"), binary units.
StatusOr<int64_t> ParseBytes(std::string_view s);

}  // namespace berth::compose
