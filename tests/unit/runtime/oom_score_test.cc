#include "runtime/oom_score.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::runtime {
namespace {

// A child that sleeps until killed; it starts with this process's score.
class Child {
 public:
  Child() {
    pid_ = fork();
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

TEST(OomScoreTest, ShimGetsOwnScorePlusOne) {
  auto own = ReadOomScoreAdj(0);
  ASSERT_TRUE(own.ok()) << own.status();
  if (*own >= kOomScoreAdjMax) GTEST_SKIP() << "this process is at the maximum already";
  Child c;
  ASSERT_TRUE(AdjustShimOomScore(c.pid()).ok());
  EXPECT_EQ(*ReadOomScoreAdj(c.pid()), *own + 1);
  // Idempotent: a second call finds the score in place.
  ASSERT_TRUE(AdjustShimOomScore(c.pid()).ok());
  EXPECT_EQ(*ReadOomScoreAdj(c.pid()), *own + 1);
}

TEST(OomScoreTest, CappedAtMaximum) {
  Child c;
  ASSERT_TRUE(WriteOomScoreAdj(c.pid(), kOomScoreAdjMax).ok());  // raising needs no privilege
  EXPECT_EQ(*ReadOomScoreAdj(c.pid()), kOomScoreAdjMax);
  EXPECT_EQ(WriteOomScoreAdj(c.pid(), kOomScoreAdjMax + 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(OomScoreTest, GoneProcessIsNotFound) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(ReadOomScoreAdj(pid).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AdjustShimOomScore(pid).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth::runtime
