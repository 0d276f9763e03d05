// Helpers for snapshotter and diff tests: temporary directories and small file utilities.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/fs.h"

namespace berth::testing {

inline std::string MakeTempDir(const char* prefix = "berth-test") {
  std::string tmpl = StrCat("/tmp/", prefix, "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

inline bool Exists(const std::string& p) {
  struct stat sb;
  return lstat(p.c_str(), &sb) == 0;
}

inline std::string Slurp(const std::string& p) {
  auto s = ReadFile(p);
  return s.ok() ? *s : std::string("<missing>");
}

inline void Spit(const std::string& p, const std::string& data) {
  ASSERT_TRUE(WriteFileAtomic(p, data, 0644).ok()) << p;
}

}  // namespace berth::testing
