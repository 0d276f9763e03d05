#include "shim/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"

namespace berth::shim {
namespace {

class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-io-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { (void)RemoveAll(dir_); }
  std::string Fifo(const std::string& name) {
    std::string p = dir_ + "/" + name;
    EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0);
    return p;
  }
  static std::string Drain(int fd) {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
    return s;
  }
  // Runs `sh -c script` with the process's child stdio; returns its pid.
  static pid_t SpawnShell(const RuncStdio& s, const char* script) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(s.in >= 0 ? s.in : devnull, 0);
      ::dup2(s.out >= 0 ? s.out : devnull, 1);
      ::dup2(s.err >= 0 ? s.err : devnull, 2);
      ::execl("/bin/sh", "sh", "-c", script, nullptr);
      ::_exit(127);
    }
    return pid;
  }
  std::string dir_;
};

TEST_F(IoTest, CopiesFifosThroughPipesAndFlushesBeforeDrained) {
  boost::asio::io_context io;
  std::string in = Fifo("in"), out = Fifo("out"), err = Fifo("err");
  // Like ctr: the client opens its output readers before Create.
  int out_r = ::open(out.c_str(), O_RDONLY | O_NONBLOCK);
  int err_r = ::open(err.c_str(), O_RDONLY | O_NONBLOCK);
  auto pio = ProcessIO::Create(io, StdioConfig{in, out, err, false});
  ASSERT_TRUE(pio.ok()) << pio.status();
  int in_w = ::open(in.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(in_w, 0);
  pid_t pid = SpawnShell((*pio)->child_stdio(),
                         "read x; echo \"got $x\"; i=0; while [ $i -lt 2000 ]; do "
                         "echo line$i; i=$((i+1)); done; echo oops >&2");
  ASSERT_TRUE((*pio)->Started().ok());
  ASSERT_EQ(::write(in_w, "hello\n", 6), 6);
  ::close(in_w);
  (*pio)->CloseStdin();
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) io.run_for(std::chrono::milliseconds(20));
  bool drained = false;
  (*pio)->WhenDrained(std::chrono::seconds(5), [&] { drained = true; });
  while (!drained) io.run_for(std::chrono::milliseconds(20));
  std::string o = Drain(out_r);
  EXPECT_EQ(o.substr(0, 10), "got hello\n");
  EXPECT_NE(o.find("line1999\n"), std::string::npos);
  EXPECT_EQ(Drain(err_r), "oops\n");
  ::close(out_r);
  ::close(err_r);
}

TEST_F(IoTest, FileUriAppends) {
  boost::asio::io_context io;
  std::string log = dir_ + "/sub/out.log";
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/seed", "x").ok());
  auto pio = ProcessIO::Create(io, StdioConfig{"", "file://" + log, "file://" + log, false});
  ASSERT_TRUE(pio.ok()) << pio.status();
  pid_t pid = SpawnShell((*pio)->child_stdio(), "echo one; echo two >&2");
  ASSERT_TRUE((*pio)->Started().ok());
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) io.run_for(std::chrono::milliseconds(20));
  bool drained = false;
  (*pio)->WhenDrained(std::chrono::seconds(5), [&] { drained = true; });
  while (!drained) io.run_for(std::chrono::milliseconds(20));
  auto text = ReadFile(log);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("one\n"), std::string::npos);
  EXPECT_NE(text->find("two\n"), std::string::npos);
}

TEST_F(IoTest, DrainIsBoundedWhenAChildKeepsThePipe) {
  boost::asio::io_context io;
  std::string out = Fifo("out");
  int out_r = ::open(out.c_str(), O_RDONLY | O_NONBLOCK);
  auto pio = ProcessIO::Create(io, StdioConfig{"", out, "", false});
  ASSERT_TRUE(pio.ok());
  // The shell exits at once but a background child keeps stdout open.
  pid_t pid = SpawnShell((*pio)->child_stdio(), "sleep 5 & echo bye");
  ASSERT_TRUE((*pio)->Started().ok());
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) io.run_for(std::chrono::milliseconds(20));
  bool drained = false;
  (*pio)->WhenDrained(std::chrono::milliseconds(200), [&] { drained = true; });
  while (!drained) io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Drain(out_r), "bye\n");
  ::close(out_r);
}

TEST_F(IoTest, BinaryUriIsUnimplemented) {
  boost::asio::io_context io;
  auto pio = ProcessIO::Create(io, StdioConfig{"", "binary:///usr/bin/logger", "", false});
  EXPECT_EQ(pio.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(IoTest, ResizeWithoutTerminalIsANoOp) {
  boost::asio::io_context io;
  auto pio = ProcessIO::Create(io, StdioConfig{});
  ASSERT_TRUE(pio.ok());
  EXPECT_TRUE((*pio)->Resize(80, 24).ok());  // as containerd-shim-runc-v2: nothing to resize
}

}  // namespace
}  // namespace berth::shim
