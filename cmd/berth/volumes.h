// Named volumes, kept by the CLI under berthd's root as nerdctl keeps them under its data root:
//   <root>/volumes/<ns>/<name>/_data        what containers mount
//   <root>/volumes/<ns>/<name>/volume.json  {"Labels": {...}, "CreatedAt": "RFC 3339"}
// A volume is in use while any container of the namespace has a mount whose source is inside
// its _data (read from the containers' specs, so it holds whoever made the container).
// Not safe against two berth processes creating and removing the same volume at once.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cmd/berth/commands.h"
#include "common/status.h"

namespace berth::cli {

// The label of a volume made for one container (-v /path, an image VOLUME): `volume prune`
// removes only these unless -a.
inline constexpr char kLabelVolumeAnonymous[] = "berth/anonymous";

struct Volume {
  std::string name;
  std::string mountpoint;  // the _data directory
  std::map<std::string, std::string> labels;
  std::string created_at;
};

// Creates the volume, or returns the existing one (as docker does); *created says which.
// InvalidArgument for a bad name.
StatusOr<Volume> CreateVolume(const Globals& g, const std::string& name, const std::map<std::string, std::string>& labels,
                              bool* created = nullptr);
// NotFound when there is none.
StatusOr<Volume> GetVolume(const Globals& g, const std::string& name);
StatusOr<std::vector<Volume>> ListVolumes(const Globals& g);
// FailedPrecondition while a container uses it (naming the containers); NotFound when absent.
Status RemoveVolume(const Globals& g, const std::string& name);
// Volume name -> the containers that mount it.
StatusOr<std::map<std::string, std::set<std::string>>> VolumesInUse(const Globals& g);

// docker's volume inspect object (Name, Driver, Mountpoint, Labels, CreatedAt, Scope, Options).
nlohmann::json VolumeInspectJson(const Volume& v);

// A random name for an anonymous volume (64 hex digits, as docker makes them).
std::string AnonymousVolumeName();

}  // namespace berth::cli
