#include <sys/mount.h>

#include <gtest/gtest.h>

#include "containerd/linux/runctypes/runc.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "shim/flags.h"
#include "shim/mount.h"
#include "shim/process.h"
#include "shim/runc.h"
#include "shim/service.h"

namespace berth::shim {
namespace {

TEST(FlagsTest, StartCommandLine) {
  auto f = ParseFlags({"-namespace", "default", "-address", "/run/containerd/containerd.sock",
                       "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->ns, "default");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "c1");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(FlagsTest, GoFlagSpellingsAndServeMode) {
  auto f = ParseFlags({"--namespace=ns", "-id=x", "--bundle", "/b", "-debug=false"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->ns, "ns");
  EXPECT_EQ(f->id, "x");
  EXPECT_EQ(f->bundle, "/b");
  EXPECT_FALSE(f->debug);
  EXPECT_EQ(f->action, "");
}

TEST(FlagsTest, Errors) {
  EXPECT_EQ(ParseFlags({"-namespace", "n", "-id", "x", "-bogus", "1"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFlags({"-namespace", "n", "-id"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFlags({"-namespace", "n", "-id", "x", "frobnicate"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFlags({"-id", "x", "start"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AddressTest, MatchesShimV2Rule) {
  // printf '%s' /run/containerd/containerd.sock/default/abc | sha256sum
  EXPECT_EQ(SocketAddress("/run/containerd", "/run/containerd/containerd.sock", "default", "abc"),
            "unix:///run/containerd/s/"
            "8cb244a719603fe00870d5ce1d8e1f1db43a654cb993d107df1f1ae23ddffa59");
  // filepath.Join cleans the hashed path.
  EXPECT_EQ(SocketAddress("/run/containerd/", "/run/containerd//containerd.sock/", "default", "abc"),
            SocketAddress("/run/containerd", "/run/containerd/containerd.sock", "default", "abc"));
}

TEST(AddressTest, CleanPath) {
  EXPECT_EQ(CleanPath("/a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(CleanPath("/../x"), "/x");
  EXPECT_EQ(CleanPath("a/../../b"), "../b");
  EXPECT_EQ(CleanPath(""), ".");
}

TEST(RuncTest, ParsePidList) {
  auto p = ParsePidList("[12,34]\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<int>{12, 34}));
  EXPECT_TRUE(ParsePidList("null").ok());
  EXPECT_FALSE(ParsePidList("{\"a\":1}").ok());
  EXPECT_FALSE(ParsePidList("[\"x\"]").ok());
}

TEST(RuncTest, LastErrorFromLogJson) {
  std::string log =
      "{\"level\":\"info\",\"msg\":\"hello\"}\n"
      "{\"level\":\"error\",\"msg\":\"first\"}\n"
      "not json\n"
      "{\"level\":\"error\",\"msg\":\"container_linux.go: exec: \\\"nope\\\": not found\"}\n"
      "{\"level\":\"warning\",\"msg\":\"later\"}\n";
  EXPECT_EQ(LastRuncError(log), "container_linux.go: exec: \"nope\": not found");
  EXPECT_EQ(LastRuncError(""), "");
}

TEST(MountTest, OptionParsing) {
  unsigned long flags = 0;
  std::string data;
  bool priv = false;
  ParseMountOptions({"ro", "nodev", "lowerdir=/a:/b", "index=off", "rprivate"}, &flags, &data,
                    &priv);
  EXPECT_EQ(flags, static_cast<unsigned long>(MS_RDONLY | MS_NODEV));
  EXPECT_EQ(data, "lowerdir=/a:/b,index=off");
  EXPECT_TRUE(priv);
  ParseMountOptions({"rbind", "ro", "rw"}, &flags, &data, &priv);
  EXPECT_EQ(flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(data, "");
}

TEST(ProcessTest, StateMachine) {
  Process p("", StdioConfig{});
  EXPECT_EQ(p.state(), ProcState::kCreated);
  EXPECT_EQ(p.SetState(ProcState::kPaused).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.SetState(ProcState::kRunning).ok());
  EXPECT_TRUE(p.SetState(ProcState::kPaused).ok());
  EXPECT_TRUE(p.SetState(ProcState::kRunning).ok());
  EXPECT_EQ(p.SetState(ProcState::kDeleted).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.SetState(ProcState::kStopped).ok());
  EXPECT_EQ(p.SetState(ProcState::kRunning).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.SetState(ProcState::kDeleted).ok());
  EXPECT_EQ(p.SetState(ProcState::kStopped).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ToProtoStatus(ProcState::kPaused), containerd::v1::types::PAUSED);
  Process e("e1", StdioConfig{});
  EXPECT_TRUE(e.SetState(ProcState::kStopped).ok());  // killed before start
}

TEST(OptionsTest, FromAnyAndJson) {
  auto empty = OptionsFromAny("containerd.runc.v1.Options", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->binary_name, "runc");
  containerd::runc::v1::Options pb;
  pb.set_root("/run/x");
  pb.set_binary_name("crun");
  pb.set_systemd_cgroup(true);
  auto o = OptionsFromAny("containerd.runc.v1.Options", pb.SerializeAsString());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->root, "/run/x");
  RuntimeOptions back = OptionsFromJson(OptionsToJson(*o));
  EXPECT_EQ(back.root, "/run/x");
  EXPECT_EQ(back.binary_name, "crun");
  EXPECT_TRUE(back.systemd_cgroup);
  EXPECT_EQ(OptionsFromAny("foo.Bar", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OptionsFromJson("{\"root\": 5}").root, "");  // wrong types fall back to defaults
}

TEST(OptionsTest, EveryFieldOfTheV2Options) {
  containerd::runc::v1::Options pb;
  pb.set_no_pivot_root(true);
  pb.set_no_new_keyring(true);
  pb.set_shim_cgroup("/shims");
  pb.set_io_uid(1000);
  pb.set_io_gid(1001);
  pb.set_criu_path("/usr/sbin/criu");
  pb.set_criu_image_path("/img");
  pb.set_criu_work_path("/work");
  auto o = OptionsFromAny("type.googleapis.com/containerd.runc.v1.Options", pb.SerializeAsString());
  ASSERT_TRUE(o.ok()) << o.status();
  RuntimeOptions back = OptionsFromJson(OptionsToJson(*o));
  EXPECT_TRUE(back.no_pivot_root);
  EXPECT_TRUE(back.no_new_keyring);
  EXPECT_EQ(back.shim_cgroup, "/shims");
  EXPECT_EQ(back.io_uid, 1000u);
  EXPECT_EQ(back.io_gid, 1001u);
  EXPECT_EQ(back.criu_path, "/usr/sbin/criu");
  EXPECT_EQ(back.criu_image_path, "/img");
  EXPECT_EQ(back.criu_work_path, "/work");
  EXPECT_EQ(back.binary_name, "runc");  // unset BinaryName means runc
}

TEST(OptionsTest, LegacyLinuxRuntimeOptionsOverlay) {
  containerd::linux::runc::RuncOptions ro;
  ro.set_runtime("/usr/bin/crun");
  ro.set_runtime_root("/run/crun-root");
  ro.set_systemd_cgroup(true);
  RuntimeOptions o;
  ASSERT_TRUE(ApplyOptionsAny("containerd.linux.runc.RuncOptions", ro.SerializeAsString(), &o).ok());
  containerd::linux::runc::CreateOptions co;
  co.set_no_pivot_root(true);
  co.set_io_uid(7);
  co.set_shim_cgroup("/legacy");
  ASSERT_TRUE(ApplyOptionsAny("containerd.linux.runc.CreateOptions", co.SerializeAsString(), &o).ok());
  // CreateOptions keep the runtime chosen by RuncOptions.
  EXPECT_EQ(o.binary_name, "/usr/bin/crun");
  EXPECT_EQ(o.root, "/run/crun-root");
  EXPECT_TRUE(o.systemd_cgroup);
  EXPECT_TRUE(o.no_pivot_root);
  EXPECT_EQ(o.io_uid, 7u);
  EXPECT_EQ(o.shim_cgroup, "/legacy");
  EXPECT_EQ(ApplyOptionsAny("containerd.linux.runc.RuncOptions", "\xff\xff", &o).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KillAllTest, OnlyAPrivatePidNamespaceSparesTheRest) {
  EXPECT_FALSE(ShouldKillAllOnExit(R"({"linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}})"));
  EXPECT_TRUE(ShouldKillAllOnExit(R"({"linux":{"namespaces":[{"type":"mount"}]}})"));  // host pid
  EXPECT_TRUE(ShouldKillAllOnExit(
      R"({"linux":{"namespaces":[{"type":"pid","path":"/proc/1/ns/pid"}]}})"));  // shared
  EXPECT_TRUE(ShouldKillAllOnExit("not json"));
  EXPECT_TRUE(ShouldKillAllOnExit("{}"));
}

TEST(KillErrorTest, GoneProcessesAreNotFound) {
  EXPECT_EQ(KillError(absl::InternalError("runc kill failed: container not running")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KillError(absl::NotFoundError("runc kill failed: container \"x\" does not exist")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KillError(absl::InternalError("exec kill: No such process")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(KillError(absl::InternalError("permission denied")).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace berth::shim

#include "shim/sha256.h"

namespace berth::shim {
namespace {
TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}
}  // namespace
}  // namespace berth::shim
