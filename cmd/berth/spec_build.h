// The OCI spec of a `berth run`/`berth create` container, built client-side as nerdctl does:
// runtime::GenerateSpec's containerd defaults, then the flags applied one concern at a time
// (process, resources, security, /etc files, mounts). Pure except for reading the files the
// flags name (--env-file, a seccomp profile, /dev for --device and --privileged).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cmd/berth/container_flags.h"
#include "common/status.h"
#include "images/manifest.h"

namespace berth::cli {

struct SpecInputs {
  std::string ns, id;
  images::ImageConfig image;
  std::vector<std::string> args;  // after IMAGE on the command line
  std::string hostname;
  std::string user;  // resolved "uid:gid" ("" = the image's, which must then be numeric)
  std::vector<uint32_t> additional_gids;
  std::string etc_dir;      // holds hosts, resolv.conf and hostname (WriteEtcFiles); "" = none
  std::string init_binary;  // with --init: berth-init on the host
  nlohmann::json mounts = nlohmann::json::array();  // OCI mounts from -v, --mount and --tmpfs
};

// The spec JSON. InvalidArgument for a flag value that does not parse, NotFound for a file a
// flag names that is not there.
StatusOr<std::string> BuildSpec(const ContainerFlags& f, const SpecInputs& in);

// The process's environment additions from --env-file and -e, in order (docker's -e KEY copies
// our KEY, or leaves it out when we have none).
StatusOr<std::vector<std::string>> FlagEnv(const ContainerFlags& f);

// The container's labels from --label-file and -l.
StatusOr<std::vector<std::pair<std::string, std::string>>> FlagLabels(const ContainerFlags& f);

// --- security.cc ---
// Applies --cap-add/--cap-drop/--privileged/--security-opt/--device to `spec` (process and linux
// sections as GenerateSpec made them).
Status ApplySecurity(const ContainerFlags& f, nlohmann::json& spec);

// --- etc_files.cc ---
// Writes hosts, resolv.conf and hostname for the container into `dir` (created 0755): localhost
// lines and --add-host in hosts; --dns/--dns-search/--dns-option, or the host's resolv.conf
// without loopback name servers, in resolv.conf.
// With host_network the host's /etc/hosts is the base of hosts.
Status WriteEtcFiles(const ContainerFlags& f, const std::string& dir, const std::string& hostname,
                     bool host_network = false);
// The hosts lines ("IP\tNAME") of --add-host. InvalidArgument for a value that is not HOST:IP.
StatusOr<std::vector<std::string>> AddHostLines(const ContainerFlags& f);

}  // namespace berth::cli
