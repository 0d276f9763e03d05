// The built-in pause image: berth's static berth-pause program as a one-layer OCI image, so pods
// run on a host with no registry. When the configured sandbox_image is neither present nor
// pullable, berthd imports this image under that name (the sandbox manager's import_pause).
//
// The layer is an uncompressed tar holding /pause (mode 0755, uid/gid 0, mtime 0), so the image
// and its id depend only on the program's bytes. Entrypoint ["/pause"], User "65535:65535" as
// the upstream pause image.
#pragma once

#include <string>

#include "common/status.h"

namespace berth::cri {

struct BuiltImage {
  std::string layer, config, manifest;  // blob bytes
  std::string layer_digest, config_digest, manifest_digest, diff_id;
};

// InvalidArgument for an empty program.
StatusOr<BuiltImage> BuildPauseImage(const std::string& program);

// A tar archive of one regular file `name` with `content` (ustar), ending with two zero blocks.
std::string TarOneFile(const std::string& name, const std::string& content, unsigned mode);

// Where berth-pause is: next to the running berthd (<dir of /proc/self/exe>/berth-pause), else
// in PATH. NotFound when neither exists.
StatusOr<std::string> FindPauseProgram();

}  // namespace berth::cri
