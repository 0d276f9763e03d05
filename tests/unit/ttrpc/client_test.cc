#include "ttrpc/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>

#include "tests/unit/ttrpc/test_util.h"

namespace berth::ttrpc {
namespace {

using namespace std::chrono_literals;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("c.sock");
    fx_.server.Register("test.Svc", "Echo", [](const CallContext& ctx, std::string p,
                                               Responder done) {
      done(ctx.Get("who") + p);
    });
    fx_.server.Register("test.Svc", "Never", [this](const CallContext&, std::string,
                                                    Responder done) {
      std::lock_guard<std::mutex> l(mu_);
      held_.push_back(done);
    });
    fx_.server.Register("test.Svc", "Fail", [](const CallContext&, std::string, Responder done) {
      done(absl::FailedPreconditionError("bad state"));
    });
    fx_.server.Register("test.Svc", "KV", [](const CallContext&, std::string p, Responder done) {
      ::ttrpc::KeyValue in;
      in.ParseFromString(p);
      ::ttrpc::KeyValue out;
      out.set_key(in.value());
      out.set_value(in.key());
      done(out.SerializeAsString());
    });
    fx_.Start(path_);
  }

  testing::TempSocketDir dir_;
  std::string path_;
  testing::ServerFixture fx_;
  std::mutex mu_;
  std::vector<Responder> held_;
};

TEST_F(ClientTest, RoundTripWithMetadataAndErrors) {
  auto c = Client::Connect("unix://" + path_);
  ASSERT_TRUE(c.ok()) << c.status();
  auto r = (*c)->Call("test.Svc", "Echo", "hi", 0ns, {{"who", "me:"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "me:hi");
  auto e = (*c)->Call("test.Svc", "Fail", "");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(e.status().message(), "bad state");
  auto u = (*c)->Call("test.Svc", "Missing", "");
  EXPECT_EQ(u.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(ClientTest, TypedCall) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  ::ttrpc::KeyValue req;
  req.set_key("a");
  req.set_value("b");
  auto r = (*c)->Call<::ttrpc::KeyValue>("test.Svc", "KV", req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->key(), "b");
  EXPECT_EQ(r->value(), "a");
}

TEST_F(ClientTest, ConcurrentCallsFromManyThreads) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        std::string p = std::to_string(t) + "/" + std::to_string(i);
        auto r = (*c)->Call("test.Svc", "Echo", p);
        if (r.ok() && *r == p) good++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 400);
}

TEST_F(ClientTest, TimeoutIsDeadlineExceededAndOthersProceed) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Call("test.Svc", "Never", "", 50ms);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  auto ok = (*c)->Call("test.Svc", "Echo", "x", 5s);
  ASSERT_TRUE(ok.ok());
  // A late answer to the timed-out call is ignored.
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& h : held_) h(std::string("late"));
  }
  EXPECT_TRUE((*c)->Call("test.Svc", "Echo", "y", 5s).ok());
}

TEST_F(ClientTest, CancelEndsPendingCallAndReleasesItsCallback) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  auto held = std::make_shared<int>(7);  // owned by the callback
  std::promise<absl::StatusCode> code;
  uint64_t h = (*c)->CallAsync("test.Svc", "Never", "", 0ns, {},
                               [held, &code](StatusOr<std::string> r) { code.set_value(r.status().code()); });
  // Once the server holds the call, cancel it.
  for (int i = 0; i < 200; i++) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!held_.empty()) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  (*c)->Cancel(h);
  EXPECT_EQ(code.get_future().get(), absl::StatusCode::kCancelled);
  // The callback (and what it captured) is gone once it ran.
  for (int i = 0; i < 200 && held.use_count() > 1; i++) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(held.use_count(), 1);
  // The server's late answer is dropped, a second Cancel is a no-op, the connection still works.
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& r : held_) r(std::string("late"));
  }
  (*c)->Cancel(h);
  auto ok = (*c)->Call("test.Svc", "Echo", "x", 5s);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "x");
}

TEST_F(ClientTest, CancelAfterAnswerIsNoop) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  std::promise<std::string> got;
  uint64_t h = (*c)->CallAsync("test.Svc", "Echo", "a", 0ns, {},
                               [&got](StatusOr<std::string> r) { got.set_value(r.ok() ? *r : "error"); });
  EXPECT_EQ(got.get_future().get(), "a");
  (*c)->Cancel(h);
  EXPECT_TRUE((*c)->Call("test.Svc", "Echo", "b", 5s).ok());
}

TEST_F(ClientTest, ServerGoneFailsPendingWithUnavailable) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  std::thread closer([this] {
    std::this_thread::sleep_for(100ms);
    fx_.Stop();
  });
  auto r = (*c)->Call("test.Svc", "Never", "");
  closer.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "ttrpc: closed");
  EXPECT_TRUE((*c)->closed());
  auto again = (*c)->Call("test.Svc", "Echo", "");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ClientTest, OversizedRequestIsResourceExhausted) {
  auto c = Client::Connect(path_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Call("test.Svc", "Echo", std::string(kMaxPayload + 1, 'x'));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE((*c)->Call("test.Svc", "Echo", "fine").ok());
}

TEST_F(ClientTest, DialMissingSocketFails) {
  auto c = Client::Connect(dir_.Path("nobody.sock"));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

// The client numbers its streams 1, 3, 5... (checked against a raw listener).
TEST(ClientRawTest, StreamIdsAreOddAndIncreasing) {
  testing::TempSocketDir dir;
  std::string path = dir.Path("raw.sock");
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  auto c = Client::Connect(path);
  ASSERT_TRUE(c.ok());
  int fd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; i++) {
    ts.emplace_back([&] { (void)(*c)->Call("s", "m", "", 10s); });
  }
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; i++) {
    auto f = testing::ReadFrame(fd);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->header.type, kRequest);
    ids.push_back(f->header.stream_id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 3, 5}));
  ::close(fd);  // peer closes: the three calls fail and the threads return
  for (auto& t : ts) t.join();
  ::close(lfd);
}

}  // namespace
}  // namespace berth::ttrpc
