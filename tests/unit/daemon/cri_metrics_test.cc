// ConvertCgroupMetrics: a shim's cgroups v1 / v2 Stats answer in CRI's terms, as containerd's
// CRI converts it.
#include <gtest/gtest.h>

#include "containerd/cgroups/v1/metrics.pb.h"
#include "containerd/cgroups/v2/metrics.pb.h"
#include "daemon/services/cri.h"

namespace berth::daemon {
namespace {

TEST(CriMetricsTest, CgroupsV1) {
  io::containerd::cgroups::v1::Metrics m;
  m.mutable_cpu()->mutable_usage()->set_total(5000);
  m.mutable_memory()->mutable_usage()->set_usage(1000);
  m.mutable_memory()->mutable_usage()->set_limit(4000);
  m.mutable_memory()->set_total_inactive_file(300);
  m.mutable_memory()->set_total_rss(600);
  m.mutable_memory()->set_total_pg_fault(7);
  m.mutable_memory()->set_total_pg_maj_fault(2);
  auto r = ConvertCgroupMetrics("io.containerd.cgroups.v1.Metrics", m.SerializeAsString(), 42);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->timestamp, 42);
  EXPECT_EQ(r->cpu_usage_ns, 5000u);
  EXPECT_EQ(r->memory_usage, 1000u);
  EXPECT_EQ(r->working_set, 700u);
  EXPECT_EQ(r->available, 3300u);
  EXPECT_EQ(r->rss, 600u);
  EXPECT_EQ(r->page_faults, 7u);
  EXPECT_EQ(r->major_page_faults, 2u);
}

TEST(CriMetricsTest, CgroupsV2WithoutLimit) {
  io::containerd::cgroups::v2::Metrics m;
  m.mutable_cpu()->set_usage_usec(3);
  m.mutable_memory()->set_usage(100);
  m.mutable_memory()->set_usage_limit(UINT64_MAX);  // "max"
  m.mutable_memory()->set_inactive_file(150);       // more than usage: working set 0
  m.mutable_memory()->set_anon(80);
  m.mutable_memory()->set_pgfault(9);
  m.mutable_memory()->set_pgmajfault(1);
  auto r = ConvertCgroupMetrics("type.googleapis.com/io.containerd.cgroups.v2.Metrics", m.SerializeAsString(), 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cpu_usage_ns, 3000u);
  EXPECT_EQ(r->working_set, 0u);
  EXPECT_EQ(r->available, 0u);
  EXPECT_EQ(r->rss, 80u);
  EXPECT_EQ(r->page_faults, 9u);
  EXPECT_EQ(r->major_page_faults, 1u);
}

TEST(CriMetricsTest, UnlimitedV1AndBadInput) {
  io::containerd::cgroups::v1::Metrics m;
  m.mutable_memory()->mutable_usage()->set_usage(10);
  m.mutable_memory()->mutable_usage()->set_limit(0x7ffffffffffff000ull);  // v1's unlimited
  auto r = ConvertCgroupMetrics("io.containerd.cgroups.v1.Metrics", m.SerializeAsString(), 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->available, 0u);
  EXPECT_TRUE(absl::IsUnimplemented(ConvertCgroupMetrics("example.com/Other", "", 1).status()));
  EXPECT_TRUE(absl::IsInternal(ConvertCgroupMetrics("io.containerd.cgroups.v2.Metrics", "\xff\xff", 1).status()));
}

}  // namespace
}  // namespace berth::daemon
