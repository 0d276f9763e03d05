// Builds layer tarballs in memory with libarchive's writer (pax, optionally gzip or zstd).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <map>
#include <string>

namespace berth::testing {

struct TarEntry {
  std::string path;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;      // file contents
  std::string link;      // symlink target
  std::string hardlink;  // hard link target
  int uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  unsigned dev_major = 0, dev_minor = 0;
  std::map<std::string, std::string> xattrs;
};

enum class TarCompression { kNone, kGzip, kZstd };

class TarBuilder {
 public:
  explicit TarBuilder(TarCompression c = TarCompression::kNone, bool pax = true) {
    a_ = archive_write_new();
    if (pax) {
      archive_write_set_format_pax_restricted(a_);
    } else {
      archive_write_set_format_ustar(a_);
    }
    if (c == TarCompression::kGzip) archive_write_add_filter_gzip(a_);
    if (c == TarCompression::kZstd) archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, &out_, nullptr, &TarBuilder::Write, nullptr);
  }
  ~TarBuilder() {
    if (a_) archive_write_free(a_);
  }

  TarBuilder& Add(const TarEntry& t) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, t.perm);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    if (!t.link.empty()) archive_entry_set_symlink(e, t.link.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
    if (t.type == AE_IFCHR || t.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(e, t.dev_major);
      archive_entry_set_rdevminor(e, t.dev_minor);
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, t.type == AE_IFREG && t.hardlink.empty() ? static_cast<la_int64_t>(t.data.size()) : 0);
    archive_write_header(a_, e);
    if (!t.data.empty()) archive_write_data(a_, t.data.data(), t.data.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& File(const std::string& p, const std::string& data, mode_t perm = 0644) {
    return Add(TarEntry{.path = p, .perm = perm, .data = data});
  }
  TarBuilder& Dir(const std::string& p, mode_t perm = 0755) {
    return Add(TarEntry{.path = p, .type = AE_IFDIR, .perm = perm});
  }
  TarBuilder& Symlink(const std::string& p, const std::string& target) {
    return Add(TarEntry{.path = p, .type = AE_IFLNK, .perm = 0777, .link = target});
  }
  TarBuilder& Hardlink(const std::string& p, const std::string& target) {
    return Add(TarEntry{.path = p, .hardlink = target});
  }

  // Closes the archive and returns its bytes.
  std::string Finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t Write(struct archive*, void* ctx, const void* buf, size_t n) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  struct archive* a_;
  std::string out_;
};

}  // namespace berth::testing
