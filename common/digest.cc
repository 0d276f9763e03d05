#include "common/digest.h"

#include <openssl/evp.h>

namespace berth {

StatusOr<Digest> Digest::Parse(std::string_view s) {
  constexpr std::string_view kPrefix = "sha256:";
  if (s.substr(0, kPrefix.size()) != kPrefix) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return absl::InvalidArgumentError(StrCat("invalid digest \"", s, "\": missing algorithm"));
    return absl::InvalidArgumentError(
        StrCat("invalid digest \"", s, "\": unsupported digest algorithm"));
  }
  std::string_view hex = s.substr(kPrefix.size());
  if (hex.size() != 64)
    return absl::InvalidArgumentError(StrCat("invalid digest \"", s, "\": invalid checksum digest length"));
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return absl::InvalidArgumentError(StrCat("invalid digest \"", s, "\": invalid checksum digest format"));
  }
  return Digest(std::string(hex));
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr); }
Sha256::~Sha256() = default;
Sha256::Sha256(const Sha256& o) : impl_(std::make_unique<Impl>()) { EVP_MD_CTX_copy_ex(impl_->ctx, o.impl_->ctx); }

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

Digest Sha256::Current() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, impl_->ctx);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, md, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return Digest::FromHex(std::move(hex));
}

Digest Sha256::Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Current();
}

}  // namespace berth
