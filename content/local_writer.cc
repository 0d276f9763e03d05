#include "content/local_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"
#include "common/log.h"
#include "common/scope_exit.h"
#include "content/internal.h"

namespace berth::content {

LocalWriter::~LocalWriter() {
  Status s = Close();
  if (!s.ok()) {
    BLOG(Warn) << "close ingest " << status_.ref << ": " << s;
  }
}

void LocalWriter::Release() {
  if (closed_) return;
  closed_ = true;
  fd_.Reset();
  store_.locks_.Unlock(status_.ref);
}

Status LocalWriter::Write(std::string_view data) {
  if (closed_) return absl::FailedPreconditionError(StrCat("write ", status_.ref, ": writer is closed"));
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Bytes written before the error stay counted so offset and digest match the file.
      return ErrnoStatus(errno, StrCat("write ingest ", status_.ref));
    }
    hash_->Update(p, static_cast<size_t>(n));
    status_.offset += n;
    p += n;
    left -= static_cast<size_t>(n);
  }
  status_.updated_at = NowNanos();
  return Status();
}

Status LocalWriter::Truncate(int64_t size) {
  if (closed_) return absl::FailedPreconditionError(StrCat("truncate ", status_.ref, ": writer is closed"));
  if (size != 0) return absl::InvalidArgumentError(StrCat("truncate ", status_.ref, ": only size 0 is supported"));
  if (::ftruncate(fd_.get(), 0) != 0) return ErrnoStatus(errno, StrCat("truncate ingest ", status_.ref));
  if (::lseek(fd_.get(), 0, SEEK_SET) < 0) return ErrnoStatus(errno, StrCat("seek ingest ", status_.ref));
  hash_ = std::make_unique<Sha256>();
  status_.offset = 0;
  status_.updated_at = NowNanos();
  return Status();
}

Status LocalWriter::Commit(int64_t size, const std::optional<Digest>& expected, const Labels& labels) {
  if (closed_) return absl::FailedPreconditionError("cannot commit on closed writer: failed precondition");
  const std::string ref = status_.ref;
  const std::string what = StrCat("commit ", ref);
  // Whatever happens below, the writer ends closed and the ref unlocked; the lock is held until
  // the ingest directory is gone so no other writer can open it while it is being moved.
  ScopeExit release([this] { Release(); });
  struct stat st;
  if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, what + ": sync ingest data");
  if (::fstat(fd_.get(), &st) != 0) return ErrnoStatus(errno, what + ": stat ingest data");
  fd_.Reset();

  // containerd's messages. Both failures keep the ingest (resumable, or to be aborted).
  if (size > 0 && size != st.st_size) {
    return absl::FailedPreconditionError(StrCat("unexpected commit size ", static_cast<int64_t>(st.st_size),
                                                ", expected ", size, ": failed precondition"));
  }
  Digest actual = hash_->Current();
  if (expected && *expected != actual) {
    return absl::FailedPreconditionError(
        StrCat("unexpected commit digest ", actual.str(), ", expected ", expected->str(), ": failed precondition"));
  }

  const std::string target = store_.BlobPath(actual);
  const std::string blob_dir = DirName(target);
  RETURN_IF_ERROR(Annotate(MkdirAll(blob_dir, 0755), what));
  if (::access(target.c_str(), F_OK) == 0) {
    Status rm = RemoveAll(dir_);
    if (!rm.ok()) {
      BLOG(Warn) << what << ": remove ingest " << dir_ << ": " << rm;
    }
    return absl::AlreadyExistsError(StrCat("content ", actual.str(), ": already exists"));
  }
  const std::string data = JoinPath(dir_, "data");
  if (::rename(data.c_str(), target.c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat(what, ": the ingest was aborted: not found"));
    return ErrnoStatus(errno, what + ": rename into blobs");
  }

  // The blob is in place: from here on failures are logged, never returned.
  if (Status s = FsyncDir(blob_dir); !s.ok()) {
    BLOG(Error) << what << ": " << s;
  }
  if (::chmod(target.c_str(), 0444) != 0) {
    BLOG(Error) << what << ": chmod " << target << ": " << strerror(errno);
  }
  if (Status s = RemoveAll(dir_); !s.ok()) {
    BLOG(Error) << what << ": remove ingest: " << s;
  }
  (void)labels;  // LocalStore keeps no labels; metadata::ContentStore records them.
  return Status();
}

Status LocalWriter::Close() {
  if (closed_) return Status();
  Status out;
  if (::fsync(fd_.get()) != 0) out = ErrnoStatus(errno, StrCat("close ingest ", status_.ref, ": sync"));
  Status ts = WriteIngestFile(JoinPath(dir_, "updatedat"), std::to_string(status_.updated_at));
  // A vanished directory means the ingest was aborted underneath us; nothing left to keep.
  if (!ts.ok() && !absl::IsNotFound(ts) && out.ok()) out = ts;
  Release();
  return out;
}

}  // namespace berth::content
