#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace berth {

absl::StatusCode ErrnoToCode(int err) {
  switch (err) {
    case 0:
      return absl::StatusCode::kOk;
    case ENOENT:
    case ESRCH:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EINVAL:
    case ENAMETOOLONG:
    case E2BIG:
      return absl::StatusCode::kInvalidArgument;
    case EBUSY:
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case EPERM:
    case EACCES:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return absl::StatusCode::kResourceExhausted;
    case ENOTSUP:
    case ENOSYS:
      return absl::StatusCode::kUnimplemented;
    case ENOTEMPTY:
    case ENOTDIR:
    case EISDIR:
      return absl::StatusCode::kFailedPrecondition;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kInternal;
  }
}

Status ErrnoStatus(int err, std::string_view context) {
  return Status(ErrnoToCode(err), StrCat(context, ": ", std::strerror(err)));
}

Status Annotate(const Status& s, std::string_view context) {
  if (s.ok()) return s;
  return Status(s.code(), StrCat(context, ": ", s.message()));
}

}  // namespace berth
