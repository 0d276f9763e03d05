// Error model shared by every core part of berth.
//
// berth uses absl::Status / absl::StatusOr<T> everywhere (gRPC already links abseil, and its
// codes are the canonical gRPC codes, which containerd's errdefs map onto one to one). Context is
// added as an error passes a layer ("commit sha256:ab..: <cause>") but its code never changes.
// Only daemon/ converts a Status into a grpc::Status (common/grpc_status.h).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <type_traits>

#include "absl/strings/string_view.h"

namespace berth {

using Status = absl::Status;

namespace internal {
inline void AppendPiece(std::string& s, std::string_view v) { s.append(v); }
inline void AppendPiece(std::string& s, const std::string& v) { s.append(v); }
inline void AppendPiece(std::string& s, const char* v) { s.append(v ? v : "(null)"); }
inline void AppendPiece(std::string& s, absl::string_view v) { s.append(v.data(), v.size()); }
inline void AppendPiece(std::string& s, char c) { s.push_back(c); }
template <typename T>
  requires std::is_arithmetic_v<T>
void AppendPiece(std::string& s, T v) {
  s += std::to_string(v);
}
}  // namespace internal

// Concatenates strings (std::string_view, absl::string_view, C strings) and numbers. Debian's
// abseil is built with its own string_view type, so absl::StrCat does not take std::string_view.
template <typename... A>
std::string StrCat(const A&... pieces) {
  std::string s;
  (internal::AppendPiece(s, pieces), ...);
  return s;
}
template <typename T>
using StatusOr = absl::StatusOr<T>;

// Maps an errno value onto a status code, like leveldb's PosixError: ENOENT -> NotFound,
// EEXIST -> AlreadyExists, EINVAL -> InvalidArgument, EBUSY/EAGAIN -> Unavailable,
// EPERM/EACCES -> PermissionDenied, ENOSPC -> ResourceExhausted, everything else Internal.
absl::StatusCode ErrnoToCode(int err);

// "<context>: <strerror(err)>" with the code from ErrnoToCode.
Status ErrnoStatus(int err, std::string_view context);

// Prefixes the message with "<context>: " and keeps the code. OK stays OK.
Status Annotate(const Status& s, std::string_view context);

}  // namespace berth

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::absl::Status berth_status_ = (expr);      \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, Foo()): declares x from a StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
