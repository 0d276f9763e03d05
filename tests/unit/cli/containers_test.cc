// The berth CLI's container helpers that need no daemon: signals, ids, docker-like status text,
// and the FIFO set and copier that carry a process's stdio.
#include "cmd/berth/containers.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace berth::cli {
namespace {

TEST(ParseSignal, NamesAndNumbers) {
  EXPECT_EQ(*ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("term"), SIGTERM);
  EXPECT_EQ(*ParseSignal("hup"), SIGHUP);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("USR1"), SIGUSR1);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignal("0").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignal("999").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignal("NOPE").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignal("").status()));
}

TEST(NewContainerId, SixtyFourHexDigitsAndUnique) {
  std::string a = NewContainerId(), b = NewContainerId();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(StatusOf, FromTaskOrLabels) {
  cov1::Container c;
  c.set_id("x");
  c.mutable_created_at()->set_seconds(time(nullptr) - 300);
  EXPECT_EQ(StatusOf(c, nullptr).state, "created");
  EXPECT_EQ(StatusOf(c, nullptr).text, "Created");

  containerd::v1::types::Process t;
  t.set_pid(42);
  t.set_status(containerd::v1::types::RUNNING);
  auto st = StatusOf(c, &t);
  EXPECT_EQ(st.state, "running");
  EXPECT_EQ(st.text, "Up 5 minutes");
  EXPECT_EQ(st.pid, 42u);
  EXPECT_EQ(st.exit_code, -1);

  t.set_status(containerd::v1::types::PAUSED);
  EXPECT_EQ(StatusOf(c, &t).text, "Up 5 minutes (Paused)");

  t.set_status(containerd::v1::types::STOPPED);
  t.set_exit_status(3);
  t.mutable_exited_at()->set_seconds(time(nullptr) - 7200 - 5);
  st = StatusOf(c, &t);
  EXPECT_EQ(st.state, "exited");
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.text, "Exited (3) 2 hours ago");

  (*c.mutable_labels())[kLabelExitCode] = "137";
  (*c.mutable_labels())[kLabelExitedAt] = std::to_string(time(nullptr) - 30);
  st = StatusOf(c, nullptr);
  EXPECT_EQ(st.state, "exited");
  EXPECT_EQ(st.exit_code, 137);
  EXPECT_EQ(st.text, "Exited (137) 30 seconds ago");
}

class FifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cli-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A pipe whose read end is drained into `out` by a thread until EOF.
  struct Sink {
    int fds[2];
    std::string data;
    std::thread reader;
    Sink() {
      EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
      reader = std::thread([this] {
        char buf[4096];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
      });
    }
    std::string Finish() {
      close(fds[1]);
      reader.join();
      close(fds[0]);
      return data;
    }
  };
  std::string dir_;
};

TEST_F(FifoTest, CreatesPrivateFifosAndRemovesThem) {
  std::string sub;
  {
    auto f = FifoSet::Create(dir_ + "/fifo", "abc", /*with_stdin=*/true, /*with_stderr=*/true);
    ASSERT_TRUE(f.ok()) << f.status();
    for (const auto& p : {(*f)->stdin_path(), (*f)->stdout_path(), (*f)->stderr_path()}) {
      struct stat st;
      ASSERT_EQ(stat(p.c_str(), &st), 0) << p;
      EXPECT_TRUE(S_ISFIFO(st.st_mode));
      EXPECT_EQ(st.st_mode & 0777, 0600u);
    }
    EXPECT_NE((*f)->stdout_path().find("/abc-stdout"), std::string::npos);
    sub = std::filesystem::path((*f)->stdout_path()).parent_path();
    // A writer can open stdout without blocking: our read end is already open.
    int w = open((*f)->stdout_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(w, 0);
    close(w);
  }
  EXPECT_FALSE(std::filesystem::exists(sub));
  auto f = FifoSet::Create(dir_ + "/fifo", "t", false, false);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->stdin_path().empty());
  EXPECT_TRUE((*f)->stderr_path().empty());
}

// The shim's pattern: it opens the FIFOs, writes everything, and keeps them open after the exit.
// Drain() must still deliver every byte, in order, to the right stream.
TEST_F(FifoTest, CopierDeliversEverythingWrittenBeforeDrain) {
  auto f = FifoSet::Create(dir_ + "/fifo", "p", false, true);
  ASSERT_TRUE(f.ok());
  Sink out, err;
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  int w_out = open((*f)->stdout_path().c_str(), O_WRONLY | O_CLOEXEC);
  int w_err = open((*f)->stderr_path().c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(w_out, 0);
  ASSERT_GE(w_err, 0);
  {
    IoCopier io(**f, false, nullptr, out.fds[1], err.fds[1]);
    std::thread writer([&] {
      size_t off = 0;
      while (off < big.size()) {
        ssize_t n = write(w_out, big.data() + off, std::min<size_t>(100000, big.size() - off));
        ASSERT_GT(n, 0);
        off += static_cast<size_t>(n);
      }
      ASSERT_EQ(write(w_err, "to-err\n", 7), 7);
    });
    writer.join();  // all written; the writers stay open, as the shim's do
    io.Drain();
  }
  close(w_out);
  close(w_err);
  EXPECT_EQ(out.Finish(), big);
  EXPECT_EQ(err.Finish(), "to-err\n");
}

TEST_F(FifoTest, CopierStopsAtWriterEofAndDrainWithoutWriterReturns) {
  auto f = FifoSet::Create(dir_ + "/fifo", "q", false, true);
  ASSERT_TRUE(f.ok());
  Sink out, err;
  {
    IoCopier io(**f, false, nullptr, out.fds[1], err.fds[1]);
    int w = open((*f)->stdout_path().c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_EQ(write(w, "hello\n", 6), 6);
    close(w);  // EOF on stdout; stderr never had a writer
    io.Drain();
  }
  EXPECT_EQ(out.Finish(), "hello\n");
  EXPECT_EQ(err.Finish(), "");
}

}  // namespace
}  // namespace berth::cli
