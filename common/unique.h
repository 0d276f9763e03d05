// containerd's "unique part" of generated names: "<nanosecond field of now>-<3 random bytes as 4
// URL-safe base64 characters>", as in lease ids and extract snapshot keys made by ctr.
#pragma once

#include <cstddef>
#include <string>

namespace berth {

std::string UniquePart();

// n random lowercase hex digits (docker's random ids are these); valid in any containerd
// identifier, unlike UniquePart's base64, which may hold "--" or end in '-'.
std::string RandomHex(size_t n);

}  // namespace berth
