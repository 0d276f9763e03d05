// Fuzz target: a Content.Write stream (containerd.services.content.v1.WriteContentRequest
// messages) applied to a real content store in a temporary directory, the steps berthd's Write
// handler takes: the first message opens (or resumes) the ingest named by its ref, then STAT,
// WRITE (at the current offset, 0 restarts) and COMMIT with the expected digest and total.
// Input: messages, each preceded by a 2-byte big-endian length. Checks: nothing crashes; the
// ref, whatever its bytes, never names a file outside the store; a committed blob is readable
// and its bytes hash to its digest, which equals the expected one when given.
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "containerd/services/content/v1/content.pb.h"
#include "content/local_store.h"
#include "tests/fuzz/fuzz_check.h"

namespace ctv1 = containerd::services::content::v1;

namespace {

void CheckTree(const std::string& base) {
  // base holds only the store root; the store root only blobs/ and ingest/.
  for (const auto& e : std::filesystem::directory_iterator(base)) {
    FUZZ_CHECK(e.path().filename() == "store", "written outside the store: " + e.path().string());
  }
  for (const auto& e : std::filesystem::directory_iterator(base + "/store")) {
    auto n = e.path().filename().string();
    FUZZ_CHECK(n == "blobs" || n == "ingest", "unexpected entry in the store root: " + n);
  }
}

void Run(const uint8_t* data, size_t size, const std::string& root) {
  auto store_or = berth::content::LocalStore::Open(root);
  FUZZ_CHECK(store_or.ok(), store_or.status().ToString());
  auto& store = **store_or;
  std::unique_ptr<berth::content::Writer> w;
  std::optional<berth::Digest> expected;
  int64_t total = 0;
  size_t pos = 0;
  int msgs = 0;
  while (pos + 2 <= size && msgs++ < 64) {
    size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    if (len > size - pos) len = size - pos;
    ctv1::WriteContentRequest req;
    bool parsed = req.ParseFromArray(data + pos, static_cast<int>(len));
    pos += len;
    if (!parsed) continue;
    if (!w) {
      if (req.ref().empty()) continue;
      berth::content::WriterOptions opts;
      opts.ref = req.ref();
      opts.total = req.total();
      if (!req.expected().empty()) {
        auto d = berth::Digest::Parse(req.expected());
        if (!d.ok()) continue;
        opts.expected = *d;
      }
      total = req.total();
      expected = opts.expected;
      auto wr = store.OpenWriter(opts);
      if (!wr.ok()) continue;
      w = std::move(*wr);
    }
    auto action = req.action();
    if (action != ctv1::STAT && action != ctv1::WRITE && action != ctv1::COMMIT) continue;
    if (!req.expected().empty()) {
      auto d = berth::Digest::Parse(req.expected());
      if (!d.ok()) break;
      expected = *d;
      if (store.GetInfo(*d).ok()) break;
    }
    if (req.total() > 0) total = req.total();
    auto ws = w->GetStatus();
    if (action == ctv1::STAT) {
      (void)w->CurrentDigest();
      continue;
    }
    if (req.offset() > 0 && req.offset() != ws.offset) break;
    if (req.offset() == 0 && ws.offset > 0 && !w->Truncate(0).ok()) break;
    if (!req.data().empty() && !w->Write(req.data()).ok()) break;
    if (action == ctv1::COMMIT) {
      berth::content::Labels labels(req.labels().begin(), req.labels().end());
      berth::Status s = w->Commit(total, expected, labels);
      w.reset();
      if (!s.ok()) break;
      berth::Digest got = berth::Digest::FromHex("");
      auto info_ok = false;
      // The committed blob: find it by walking (the digest is the writer's).
      (void)store.Walk(
          [&](const berth::content::Info& info) {
            auto r = store.OpenReader(info.digest);
            FUZZ_CHECK(r.ok(), "committed blob unreadable: " + r.status().ToString());
            std::string buf(static_cast<size_t>((*r)->Size()), '\0');
            auto n = (*r)->ReadAt(buf.data(), buf.size(), 0);
            FUZZ_CHECK(n.ok() && *n == buf.size(), "short read of committed blob");
            FUZZ_CHECK(berth::Sha256::Of(buf) == info.digest, "blob bytes do not hash to " + info.digest.str());
            FUZZ_CHECK(info.size == static_cast<int64_t>(buf.size()), "info size differs from blob size");
            got = info.digest;
            info_ok = true;
            return berth::Status();
          },
          {});
      FUZZ_CHECK(info_ok, "commit succeeded but no blob is stored");
      if (expected) FUZZ_CHECK(got == *expected, "committed " + got.str() + " but expected " + expected->str());
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char tmpl[] = "/tmp/content_write_fuzz.XXXXXX";
  FUZZ_CHECK(mkdtemp(tmpl) != nullptr, "mkdtemp");
  std::string base = tmpl;
  Run(data, size, base + "/store");
  CheckTree(base);
  std::filesystem::remove_all(base);
  return 0;
}
