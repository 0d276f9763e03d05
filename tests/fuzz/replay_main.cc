// The main() of a fuzz target built without libFuzzer (gcc, the default build): runs
// LLVMFuzzerTestOneInput once on every file given, or on every regular file of every directory
// given (sorted, so runs are reproducible). A crash or an abort in the target fails the run,
// which is how ctest replays each corpus. Prints one line per input only with -v.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

void Collect(const std::string& path, std::vector<std::string>* files) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) {
    fprintf(stderr, "fuzz replay: %s: %s\n", path.c_str(), strerror(errno));
    exit(2);
  }
  if (!S_ISDIR(sb.st_mode)) {
    files->push_back(path);
    return;
  }
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    fprintf(stderr, "fuzz replay: %s: %s\n", path.c_str(), strerror(errno));
    exit(2);
  }
  std::vector<std::string> kids;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    kids.push_back(path + "/" + e->d_name);
  }
  closedir(d);
  std::sort(kids.begin(), kids.end());
  for (const auto& k : kids) {
    if (stat(k.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) files->push_back(k);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-v") == 0) {
      verbose = true;
      continue;
    }
    Collect(argv[i], &files);
  }
  if (files.empty()) {
    fprintf(stderr, "fuzz replay: no inputs (usage: %s [-v] <corpus dir or file>...)\n", argv[0]);
    return 2;
  }
  for (const auto& f : files) {
    std::string data;
    if (!ReadFile(f, &data)) {
      fprintf(stderr, "fuzz replay: cannot read %s\n", f.c_str());
      return 2;
    }
    if (verbose) fprintf(stderr, "fuzz replay: %s (%zu bytes)\n", f.c_str(), data.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  printf("fuzz replay: %zu inputs ok\n", files.size());
  return 0;
}
