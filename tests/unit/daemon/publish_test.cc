// `event.*` filter fields: the reflection lookup exposes what containerd's generated Field
// methods expose (api/events/*.pb.go), with the same presence rules.
#include "daemon/publish.h"

#include <gtest/gtest.h>

#include "containerd/events/container.pb.h"
#include "containerd/events/image.pb.h"
#include "containerd/events/task.pb.h"

namespace berth::daemon {
namespace {

using Lookup = std::function<std::optional<std::string>(const FieldPath&)>;

Lookup Of(const google::protobuf::Message& m) {
  return EventFieldLookup(m.GetDescriptor()->full_name(), m.SerializeAsString());
}

TEST(EventFields, TaskExitExposesStringsOnly) {
  containerd::events::TaskExit ev;
  ev.set_container_id("c1");
  ev.set_pid(42);
  ev.set_exit_status(3);
  ev.mutable_exited_at()->set_seconds(1);
  Lookup f = Of(ev);
  ASSERT_TRUE(f);
  EXPECT_EQ(f({"container_id"}), "c1");
  EXPECT_EQ(f({"id"}), std::nullopt);  // empty string: absent
  EXPECT_EQ(f({"pid"}), std::nullopt);  // numbers are not exposed
  EXPECT_EQ(f({"exit_status"}), std::nullopt);
  EXPECT_EQ(f({"exited_at"}), std::nullopt);
  EXPECT_EQ(f({"exited_at", "seconds"}), std::nullopt);  // nor timestamps
  EXPECT_EQ(f({"containerId"}), std::nullopt);           // proto names only
  EXPECT_EQ(f({}), std::nullopt);
}

TEST(EventFields, NestedMessagesBoolsAndLabels) {
  containerd::events::TaskCreate tc;
  tc.set_container_id("c1");
  tc.mutable_io()->set_stdout("/fifo");
  Lookup f = Of(tc);
  ASSERT_TRUE(f);
  EXPECT_EQ(f({"io", "stdout"}), "/fifo");
  EXPECT_EQ(f({"io", "terminal"}), "false");  // bools are always present
  EXPECT_EQ(f({"io"}), std::nullopt);
  EXPECT_EQ(f({"rootfs"}), std::nullopt);  // repeated

  containerd::events::ContainerCreate cc;
  cc.set_id("c1");
  Lookup g = Of(cc);
  EXPECT_EQ(g({"runtime", "name"}), std::nullopt);  // unset sub-message
  cc.mutable_runtime()->set_name("io.containerd.runc.v2");
  cc.mutable_runtime()->mutable_options()->set_type_url("containerd.runc.v1.Options");
  g = Of(cc);
  EXPECT_EQ(g({"runtime", "name"}), "io.containerd.runc.v2");
  EXPECT_EQ(g({"runtime", "options", "type_url"}), std::nullopt);  // an Any not holding an event

  containerd::events::ContainerUpdate cu;
  Lookup h = Of(cu);
  EXPECT_EQ(h({"labels", "a"}), std::nullopt);
  (*cu.mutable_labels())["a.b"] = "1";
  (*cu.mutable_labels())["e"] = "";
  h = Of(cu);
  EXPECT_EQ(h({"labels", "a", "b"}), "1");
  EXPECT_EQ(h({"labels", "e"}), "");  // a present, empty label
  EXPECT_EQ(h({"labels", "x"}), std::nullopt);

  containerd::services::images::v1::ImageCreate ic;
  ic.set_name("docker.io/library/busybox:latest");
  EXPECT_EQ(Of(ic)({"name"}), "docker.io/library/busybox:latest");
}

TEST(EventFields, OnlyEventTypesAreLookedInto) {
  containerd::events::TaskExit ev;
  EXPECT_FALSE(EventFieldLookup("google.protobuf.Timestamp", ""));
  EXPECT_FALSE(EventFieldLookup("containerd.events.NoSuchEvent", ""));
  EXPECT_TRUE(EventFieldLookup("types.containerd.io/containerd.events.TaskExit", ev.SerializeAsString()));
}

}  // namespace
}  // namespace berth::daemon
