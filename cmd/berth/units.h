// Parsers for the values of docker's run flags, pure and thread-safe (exercised by
// tests/integration/test_berth_run_flags.sh). Each returns InvalidArgument naming the flag's value when it
// does not parse.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::cli {

// docker's RAMInBytes: a number with an optional unit b, k, m, g, t or p (powers of 1024, case
// and a trailing "b"/"ib" ignored): "64m" -> 67108864, "1.5g", "4096".
StatusOr<int64_t> ParseBytes(const std::string& s);

// --cpus: a positive decimal ("0.5", "2") as nano-CPUs (1e9 a CPU).
StatusOr<int64_t> ParseNanoCpus(const std::string& s);

// --ulimit NAME=SOFT[:HARD]: the OCI rlimit type ("RLIMIT_NOFILE") and the two limits (HARD
// defaults to SOFT; -1 is unlimited). Names are docker's (nofile, nproc, core, memlock, stack, ...).
struct Ulimit {
  std::string type;
  uint64_t soft = 0, hard = 0;
};
StatusOr<Ulimit> ParseUlimit(const std::string& s);

// --restart: "no", "always", "unless-stopped", "on-failure" or "on-failure:N" (N >= 0).
struct RestartPolicy {
  std::string name;  // no | always | on-failure | unless-stopped
  int max_retries = 0;
  std::string Label() const;  // containerd 1.7's restart.policy value ("on-failure:2")
};
StatusOr<RestartPolicy> ParseRestartPolicy(const std::string& s);

// KEY=VALUE lines of an --env-file or --label-file: blank lines and lines starting with '#'
// skipped; with expand_bare, a line "KEY" takes the value of KEY in our environment (and is left
// out when we have none). NotFound when the file cannot be read.
StatusOr<std::vector<std::string>> ReadKeyValueFile(const std::string& path, bool expand_bare);

}  // namespace berth::cli
