// FUZZ_CHECK(cond, msg): an invariant of a fuzz target. On failure prints the message and
// aborts, in the libFuzzer build (which then saves the input) and in the corpus replay alike.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, msg)                                                               \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond,      \
              std::string(msg).c_str());                                                    \
      abort();                                                                              \
    }                                                                                       \
  } while (0)
