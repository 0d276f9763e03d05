// containerd's "unique part" of generated names: "<nanosecond field of now>-<3 random bytes as 4
// URL-safe base64 characters>", as in lease ids and extract snapshot keys made by ctr.
#pragma once

#include <string>

namespace berth {

std::string UniquePart();

}  // namespace berth
