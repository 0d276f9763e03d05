// A small self-contained SHA-256 (FIPS 180-4) for the shim's socket name. The shim does not
// link OpenSSL: libcrypto's relocations alone cost ~400 KiB of private memory per process.
// Pure function, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace berth::shim {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace berth::shim
