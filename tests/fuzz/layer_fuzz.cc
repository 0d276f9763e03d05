// Fuzz target: the layer applier (diff::ApplyToDir), the code that writes a registry's tar
// streams to disk as root.
//
// The first input byte picks the mode. Raw mode hands the rest of the input to the applier as a
// layer stream (tar, gzip or zstd, as the bytes say). Generated mode reads the rest as a recipe
// for a hostile tar built with libarchive: entries whose names climb out ("../", absolute, via
// a symlink, via the real absolute path of a directory next to the root), symlinks to "/",
// "..", and that directory, hard links out of the root, whiteouts and opaque markers in odd
// places (".wh..", in a symlinked directory), device nodes, FIFOs, sparse files, PAX headers
// with large records and xattrs, GNU and PAX long names, in pax/gnutar/ustar format, plain or
// gzip/zstd wrapped, optionally truncated.
//
// Layout per run: <base>/outside/canary (a file with known bytes) next to <base>/root, the
// target. Checks: whatever the outcome, <base> holds only outside/ and root/, outside/ holds
// only the canary, with its bytes and a link count of 1 (no hard link was made to it).
//
// As root the base is a private tmpfs mounted nodev (in a mount namespace of this process), so
// a device node a layer creates cannot reach a real device even if the applier were wrong.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "diff/apply.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr char kCanary[] = "canary bytes: must never change\n";

class StringReader final : public berth::diff::Reader {
 public:
  explicit StringReader(std::string s) : s_(std::move(s)) {}
  berth::StatusOr<size_t> Read(void* buf, size_t n) override {
    size_t k = std::min(n, s_.size() - pos_);
    memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string s_;
  size_t pos_ = 0;
};

// Consumes the fuzz input; zeros once it is exhausted.
struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::string Bytes(size_t k, bool no_nul) {
    std::string out;
    while (k-- > 0 && n > 0) {
      char c = static_cast<char>(Byte());
      if (no_nul && c == '\0') c = 'z';
      out += c;
    }
    return out;
  }
};

struct Env {
  std::string base, root, outside;
};

const Env& TheEnv() {
  static Env* env = [] {
    auto* e = new Env();
    char tmpl[] = "/tmp/layer_fuzz.XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl) != nullptr, strerror(errno));
    e->base = tmpl;
    if (geteuid() == 0) {
      FUZZ_CHECK(unshare(CLONE_NEWNS) == 0, std::string("unshare: ") + strerror(errno));
      FUZZ_CHECK(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, strerror(errno));
      FUZZ_CHECK(mount("layer_fuzz", e->base.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, "size=256m,mode=0700") == 0,
                 std::string("mount tmpfs: ") + strerror(errno));
      atexit([] {
        umount2(TheEnv().base.c_str(), MNT_DETACH);
        rmdir(TheEnv().base.c_str());
      });
    } else {
      atexit([] { std::filesystem::remove_all(TheEnv().base); });
    }
    e->root = e->base + "/root";
    e->outside = e->base + "/outside";
    FUZZ_CHECK(mkdir(e->outside.c_str(), 0755) == 0, strerror(errno));
    std::ofstream(e->outside + "/canary") << kCanary;
    return e;
  }();
  return *env;
}

void CheckContained(const Env& env) {
  for (const auto& e : std::filesystem::directory_iterator(env.base)) {
    auto n = e.path().filename().string();
    FUZZ_CHECK(n == "root" || n == "outside", "layer wrote outside its root: " + e.path().string());
  }
  for (const auto& e : std::filesystem::directory_iterator(env.outside)) {
    FUZZ_CHECK(e.path().filename() == "canary", "layer wrote into the canary tree: " + e.path().string());
  }
  struct stat sb;
  FUZZ_CHECK(lstat((env.outside + "/canary").c_str(), &sb) == 0, "canary gone");
  FUZZ_CHECK(S_ISREG(sb.st_mode) && sb.st_nlink == 1, "canary replaced or hard-linked");
  std::ifstream f(env.outside + "/canary");
  std::stringstream ss;
  ss << f.rdbuf();
  FUZZ_CHECK(ss.str() == kCanary, "canary modified");
}

std::string Name(Input& in, const Env& env) {
  static const char* const kNames[] = {
      "a", "a/b", "a/b/c", "dir", "dir/f", "lnk", "lnk/pwned", "lnk/sub/pwned", "../pwned", "../outside/pwned",
      "../../outside/pwned", "/abs", "/a/../../pwned", "./../outside/pwned", "a/../../outside/pwned", ".wh..",
      ".wh...", ".wh.a", "a/.wh.b", "a/.wh..wh..opq", ".wh..wh..opq", "dir/.wh..wh..opq", ".", "./", "..", "../",
      "//", "a//b/", ".wh..wh.plnk.1", "lnk/.wh.canary", "lnk/.wh..wh..opq", "lnk/../../outside/x", "f", "dev"};
  constexpr size_t kN = sizeof(kNames) / sizeof(kNames[0]);
  uint8_t b = in.Byte();
  size_t i = b & 0x3f;
  std::string name;
  if (i < kN) {
    name = kNames[i];
  } else if (i == kN) {
    name = env.outside + "/pwned";
  } else if (i == kN + 1) {
    name = env.root + "/../outside/pwned";
  } else if (i == kN + 2) {
    name = std::string(300, 'L');  // needs a GNU or PAX long name
  } else if (i == kN + 3) {
    for (int k = 0; k < 60; ++k) name += "d/";
    name += "f";
  } else {
    name = in.Bytes(1 + in.Byte() % 24, /*no_nul=*/true);
  }
  if (b & 0x80) name += "/" + in.Bytes(1 + in.Byte() % 8, true);
  return name;
}

std::string LinkTarget(Input& in, const Env& env) {
  static const char* const kTargets[] = {"/", "..", "../..", "../outside", "../outside/canary", "/etc/passwd", "a",
                                         "lnk", "dir", "/proc/self/root", "/proc/self/fd/3", "f", "a/b", ".", "",
                                         "lnk/canary", "../../../../../../../../.."};
  constexpr size_t kN = sizeof(kTargets) / sizeof(kTargets[0]);
  size_t i = in.Byte() % (kN + 4);
  if (i < kN) return kTargets[i];
  if (i == kN) return env.outside;
  if (i == kN + 1) return env.outside + "/canary";
  if (i == kN + 2) return env.root + "/../outside";
  return in.Bytes(1 + in.Byte() % 24, true);
}

la_ssize_t AppendCb(struct archive*, void* opaque, const void* buf, size_t n) {
  static_cast<std::string*>(opaque)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string Generate(Input& in, const Env& env, uint8_t mode) {
  std::string out;
  struct archive* a = archive_write_new();
  switch ((mode >> 3) & 3) {
    case 0: archive_write_set_format_pax(a); break;
    case 1: archive_write_set_format_gnutar(a); break;
    case 2: archive_write_set_format_ustar(a); break;
    default: archive_write_set_format_pax_restricted(a); break;
  }
  switch ((mode >> 5) & 3) {
    case 1: archive_write_add_filter_gzip(a); break;
    case 2: archive_write_add_filter_zstd(a); break;
    default: break;
  }
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, AppendCb, nullptr);
  for (int k = 0; k < 24 && !in.empty(); ++k) {
    uint8_t type = in.Byte();
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, Name(in, env).c_str());
    uint8_t perm = in.Byte();
    archive_entry_set_perm(e, (perm & 0x80 ? 04000 : 0) | (perm & 0x40 ? 02000 : 0) | 0644 | (perm & 0x11));
    archive_entry_set_uid(e, in.Byte() % 3 == 0 ? 0 : 1000 + in.Byte());
    archive_entry_set_gid(e, in.Byte());
    archive_entry_set_mtime(e, 1700000000 + in.Byte(), 0);
    std::string body;
    switch (type % 11) {
      case 0:  // regular file
      case 10:
        archive_entry_set_filetype(e, AE_IFREG);
        body = in.Bytes(in.Byte(), false);
        break;
      case 1:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case 2:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, LinkTarget(in, env).c_str());
        break;
      case 3:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, LinkTarget(in, env).c_str());
        break;
      case 4:
      case 5: {
        archive_entry_set_filetype(e, type % 11 == 4 ? AE_IFCHR : AE_IFBLK);
        // Unassigned ("local/experimental") majors or null/zero; the tmpfs is nodev anyway.
        static const int kMajors[] = {0, 1, 240, 254};
        archive_entry_set_rdevmajor(e, kMajors[in.Byte() % 4]);
        archive_entry_set_rdevminor(e, in.Byte());
        break;
      }
      case 6:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
      case 7: {  // sparse file: a hole, data, a hole
        archive_entry_set_filetype(e, AE_IFREG);
        body = in.Bytes(1 + in.Byte() % 64, false);
        // Formats without sparse support write the holes out as zeros: keep them small.
        int64_t hole = int64_t{in.Byte()} << (in.Byte() % 12);
        archive_entry_sparse_add_entry(e, hole, static_cast<la_int64_t>(body.size()));
        archive_entry_set_size(e, hole + static_cast<int64_t>(body.size()) + (int64_t{in.Byte()} << 8));
        break;
      }
      case 8: {  // a PAX header with a large record
        archive_entry_set_filetype(e, AE_IFREG);
        std::string big(size_t{in.Byte()} << 10, 'h');
        archive_entry_xattr_add_entry(e, "user.big", big.data(), big.size());
        break;
      }
      case 9: {  // xattrs, overlay's own among them
        archive_entry_set_filetype(e, in.Byte() & 1 ? AE_IFDIR : AE_IFREG);
        archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
        archive_entry_xattr_add_entry(e, "user.x", "1", 1);
        std::string v = in.Bytes(in.Byte() % 32, false);
        archive_entry_xattr_add_entry(e, "security.capability", v.data(), v.size());
        break;
      }
    }
    if (archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == nullptr && type % 11 != 7) {
      archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    }
    if (archive_write_header(a, e) >= ARCHIVE_WARN && !body.empty()) {
      archive_write_data(a, body.data(), body.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  if (mode & 0x80) out.resize(out.size() - std::min<size_t>(out.size(), 1 + in.Byte() * 7u));  // truncated
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Env& env = TheEnv();
  if (size == 0) return 0;
  Input in{data + 1, size - 1};
  uint8_t mode = data[0];
  std::string layer = (mode & 3) == 0 ? std::string(reinterpret_cast<const char*>(in.p), in.n) : Generate(in, env, mode);

  FUZZ_CHECK(mkdir(env.root.c_str(), 0755) == 0, std::string("mkdir root: ") + strerror(errno));
  StringReader reader(std::move(layer));
  berth::diff::ApplyOptions opts;
  opts.max_entries = 4096;
  opts.max_size = 8 << 20;
  auto wmode = (mode & 4) ? berth::diff::WhiteoutMode::kOverlay : berth::diff::WhiteoutMode::kDelete;
  auto r = berth::diff::ApplyToDir(reader, env.root, wmode, opts);
  if (getenv("LAYER_FUZZ_VERBOSE")) fprintf(stderr, "apply: %s\n", r.ok() ? "ok" : r.status().ToString().c_str());
  CheckContained(env);
  std::error_code ec;
  std::filesystem::remove_all(env.root, ec);
  FUZZ_CHECK(!ec, "remove root: " + ec.message());
  return 0;
}
