// Spawn, reaper and event forwarding: the pieces of the shim's loop that need no root.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "shim/events.h"
#include "shim/reaper.h"
#include "shim/spawn.h"
#include "ttrpc/server.h"

namespace berth::shim {
namespace {

TEST(SpawnTest, CapturesOutputAndExitCodes) {
  auto r = RunAndWait({"sh", "-c", "echo hi; exit 3"}, SpawnOptions{-1, -1, -1, true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "hi\n");
  EXPECT_EQ(r->exit_code, 3);
  auto k = RunAndWait({"sh", "-c", "kill -9 $$"}, SpawnOptions{});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->exit_code, 137);
  EXPECT_FALSE(RunAndWait({"/nonexistent/binary"}, SpawnOptions{}).ok());
}

TEST(SpawnTest, ChildGetsAnEmptySignalMask) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  auto r = RunAndWait({"sh", "-c", "grep SigBlk /proc/self/status"}, SpawnOptions{-1, -1, -1, true});
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->out.find("0000000000000000"), std::string::npos) << r->out;
}

TEST(ReaperTest, ReportsExitCodesAndSignals) {
  boost::asio::io_context io;
  std::map<int, int> exits;
  auto reaper = Reaper::Create(io, [&](int pid, int code) { exits[pid] = code; });
  ASSERT_TRUE(reaper.ok());
  (*reaper)->Start();
  pid_t a = ::fork();
  if (a == 0) ::_exit(7);
  pid_t b = ::fork();
  if (b == 0) {
    ::pause();
    ::_exit(0);
  }
  ::kill(b, SIGTERM);
  for (int i = 0; i < 250 && exits.size() < 2; i++) io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(exits[a], 7);
  EXPECT_EQ(exits[b], 128 + SIGTERM);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

TEST(EventsTest, ForwardsInOrderWithNamespaceMetadata) {
  char tmpl[] = "/tmp/berth-ev-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string sock = dir + "/ev.sock";
  boost::asio::io_context io;
  ttrpc::Server server(io);
  std::vector<std::string> topics;
  std::string ns_md;
  server.Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                  [&](const ttrpc::CallContext& ctx, std::string payload, ttrpc::Responder done) {
                    containerd::services::events::ttrpc::v1::ForwardRequest req;
                    ASSERT_TRUE(req.ParseFromString(payload));
                    topics.push_back(req.envelope().topic());
                    ns_md = ctx.Get("containerd-namespace-ttrpc");
                    EXPECT_EQ(req.envelope().namespace_(), "ns1");
                    EXPECT_EQ(req.envelope().event().type_url(), "containerd.events.TaskExit");
                    done(std::string());
                  });
  ASSERT_TRUE(server.Listen(sock).ok());
  EventForwarder fwd(io, "unix://" + sock, "ns1");
  containerd::events::TaskExit ev;
  ev.set_container_id("c");
  for (const char* t : {"/tasks/exit", "/tasks/delete", "/tasks/oom"}) {
    fwd.Publish(t, "containerd.events.TaskExit", ev);
  }
  for (int i = 0; i < 250 && topics.size() < 3; i++) io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(topics, (std::vector<std::string>{"/tasks/exit", "/tasks/delete", "/tasks/oom"}));
  EXPECT_EQ(ns_md, "ns1");
  server.Close();
  (void)RemoveAll(dir);
}

TEST(EventsTest, MissingEndpointNeverBlocks) {
  boost::asio::io_context io;
  EventForwarder fwd(io, "unix:///nonexistent/berth.sock", "ns");
  containerd::events::TaskExit ev;
  for (int i = 0; i < 200; i++) fwd.Publish("/tasks/exit", "containerd.events.TaskExit", ev);
  EXPECT_LE(fwd.queued(), 128u);  // bounded; Publish returned without waiting
}

}  // namespace
}  // namespace berth::shim
