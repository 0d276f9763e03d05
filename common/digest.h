// Content digests ("sha256:<64 lowercase hex>") and a streaming SHA-256 on OpenSSL's EVP API.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth {

// A validated digest. Only sha256 is supported (as containerd's content store).
class Digest {
 public:
  // InvalidArgument unless `s` is "sha256:" followed by 64 lowercase hex characters.
  static StatusOr<Digest> Parse(std::string_view s);
  static Digest FromHex(std::string hex) { return Digest(std::move(hex)); }

  const std::string& hex() const { return hex_; }
  std::string str() const { return "sha256:" + hex_; }
  std::string_view algorithm() const { return "sha256"; }
  bool operator==(const Digest& o) const = default;

 private:
  explicit Digest(std::string hex) : hex_(std::move(hex)) {}
  std::string hex_;
};

// Incremental SHA-256. Copyable state lets a writer report the running digest cheaply.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256& o);
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // The digest of everything so far; the hasher stays usable.
  Digest Current() const;

  static Digest Of(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth
