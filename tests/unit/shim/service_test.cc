// TaskService without root: argument checks, unimplemented paths and runc error reporting, with
// a fake runc (a shell script given as Options.binary_name) that fails like runc does.
#include "shim/service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "containerd/runc/options/oci.pb.h"

namespace berth::shim {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-svc-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    // Fake runc: logs a JSON error to --log (argument after "--log") and fails.
    fake_runc_ = dir_ + "/fake-runc";
    ASSERT_TRUE(WriteFileAtomic(fake_runc_,
                                "#!/bin/sh\n"
                                "while [ $# -gt 0 ]; do [ \"$1\" = --log ] && log=$2; shift; done\n"
                                "echo '{\"level\":\"error\",\"msg\":\"boom: no such thing\"}' >> $log\n"
                                "exit 1\n",
                                0755)
                    .ok());
    svc_ = std::make_unique<TaskService>(io_, ServiceConfig{"ns", "c1", dir_, dir_ + "/runc"},
                                         nullptr, [this] { exited_ = true; }, SyncRunner());
  }
  void TearDown() override { (void)RemoveAll(dir_); }

  task::CreateTaskRequest CreateRequest() {
    task::CreateTaskRequest r;
    r.set_id("c1");
    r.set_bundle(dir_);
    containerd::runc::v1::Options o;
    o.set_binary_name(fake_runc_);
    r.mutable_options()->set_type_url("containerd.runc.v1.Options");
    r.mutable_options()->set_value(o.SerializeAsString());
    return r;
  }

  // Calls an asynchronous method and returns its answer (the runner is synchronous here).
  template <typename Req, typename Resp>
  StatusOr<Resp> Call(void (TaskService::*fn)(const Req&, Reply<Resp>), const Req& req) {
    std::optional<StatusOr<Resp>> out;
    (svc_.get()->*fn)(req, [&](StatusOr<Resp> r) { out = std::move(r); });
    io_.run();
    io_.restart();
    EXPECT_TRUE(out.has_value());
    return out ? *out : StatusOr<Resp>(absl::InternalError("no answer"));
  }

  boost::asio::io_context io_;
  std::string dir_, fake_runc_;
  std::unique_ptr<TaskService> svc_;
  bool exited_ = false;
};

TEST_F(ServiceTest, UnknownIdsAndMissingTask) {
  task::StateRequest s;
  s.set_id("other");
  EXPECT_EQ(svc_->State(s).status().code(), absl::StatusCode::kNotFound);
  s.set_id("c1");
  EXPECT_EQ(svc_->State(s).status().code(), absl::StatusCode::kNotFound);
  task::KillRequest k;
  k.set_id("c1");
  EXPECT_EQ(Call(&TaskService::Kill, k).status().code(), absl::StatusCode::kNotFound);
  task::CheckpointTaskRequest c;
  c.set_id("c1");
  EXPECT_EQ(svc_->Checkpoint(c).status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(ServiceTest, ConnectAndShutdown) {
  task::ConnectRequest c;
  c.set_id("c1");
  auto r = svc_->Connect(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shim_pid(), static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(r->task_pid(), 0u);
  task::ShutdownRequest sd;
  sd.set_id("c1");
  ASSERT_TRUE(svc_->Shutdown(sd).ok());
  EXPECT_TRUE(exited_);  // no container: the shim may go
}

TEST_F(ServiceTest, RuncErrorBecomesTheMessage) {
  auto r = Call(&TaskService::Create, CreateRequest());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("boom: no such thing"), std::string::npos)
      << r.status();
  auto opts = ReadFile(dir_ + "/options.json");
  ASSERT_TRUE(opts.ok());
  EXPECT_NE(opts->find(fake_runc_), std::string::npos);
  // Nothing was created: a second attempt fails the same way, not AlreadyExists.
  EXPECT_NE(Call(&TaskService::Create, CreateRequest()).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(ServiceTest, BinaryLogUriIsUnimplemented) {
  auto req = CreateRequest();
  req.set_stdout("binary:///usr/bin/logger");
  EXPECT_EQ(Call(&TaskService::Create, req).status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(ServiceTest, BadOptionsAreInvalidArgument) {
  auto req = CreateRequest();
  req.mutable_options()->set_type_url("some.Other");
  EXPECT_EQ(Call(&TaskService::Create, req).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::shim
