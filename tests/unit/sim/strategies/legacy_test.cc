// `legacy` (<= v6.14, docs/kernel/page-pool.md §5a): destroy leaves the in-flight page mapped and
// unmaps it whenever it comes back, through the DMA API of a device that may be gone
// (§4.3–§4.4; docs/kernel/skb-and-iommu.md §4.5). The "unbind with a page in flight" story.
#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::NextOpIndex;
using testing::PageEventSince;
using testing::StartInflightStory;
using testing::ViolationsOf;

InflightStory Start() { return StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "legacy"); }

// Control: nothing in flight, so destroy frees the pool synchronously (§4.1 step 5: no
// detach_time is ever visible) and dma-debug finds no pending mapping at unbind.
TEST(LegacyStrategyTest, NothingInFlightFreesPoolAtUnbindWithoutViolations) {
  InflightStory s = Start();
  s.ReturnHeld();
  s.Unbind();
  s.Remove();
  Advance(*s.lab, 5 * kSecond);
  EXPECT_EQ(s.Pool().state, PoolState::kFreed);
  EXPECT_FALSE(s.Pool().detach_time.has_value());
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// §4.4 + docs/kernel/skb-and-iommu.md §4.5: the held page keeps its pool mapping past unbind
// (PP005, the dma-debug leak report), and its late unmap after device_del is the
// iommu_get_dma_domain crash (PP001, Yonglong Liu's hns3 report).
TEST(LegacyStrategyTest, UnbindWithPageInFlightThenRemovalLateUnmapIsPP001) {
  InflightStory s = Start();
  const uint64_t unbind_op = NextOpIndex(*s.lab);
  s.Unbind();
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP005), 1u);
  const Violation& leak = *ViolationsOf(*s.lab, ViolationId::kPP005)[0];
  EXPECT_EQ(leak.op_index, unbind_op);
  EXPECT_EQ(leak.device, s.dev);
  EXPECT_NE(leak.message.find("device driver has pending DMA allocations"), std::string::npos)
      << leak.message;
  EXPECT_EQ(s.Device().dma_debug_pending, 1u) << "only the held page is still mapped";
  EXPECT_EQ(s.Pool().state, PoolState::kDetached);
  EXPECT_EQ(s.Pool().inflight, 1u);

  s.Remove();
  EXPECT_EQ(s.Device().state, DeviceState::kRemoved);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u) << "nothing unmapped yet";

  const Nanos returned_at = s.lab->now();
  const uint64_t return_op = NextOpIndex(*s.lab);
  s.ReturnHeld();
  // §4.3: a recyclable page returned to a destroyed pool goes to the ptr_ring and is released
  // by the next retry tick (<= 1 s), which is when the unmap happens.
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  Advance(*s.lab, 2 * kSecond);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP001), 1u);
  const Violation& crash = *ViolationsOf(*s.lab, ViolationId::kPP001)[0];
  EXPECT_EQ(crash.severity, Severity::kCrash);
  EXPECT_EQ(crash.pfn, s.held.page.pfn);
  EXPECT_EQ(crash.pool, s.pool);
  EXPECT_EQ(crash.strategy, "legacy");
  EXPECT_GT(crash.time, returned_at);
  EXPECT_LE(crash.time, returned_at + DEFER_TIME);
  EXPECT_TRUE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaUnmap, return_op))
      << "the late return calls dma_unmap_page_attrs";
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 0u)
      << "a removed translated device is the crash, not the contract breach";
  EXPECT_EQ(s.Pool().state, PoolState::kFreed) << "inflight reached 0";
}

// §4.4 "driver unbound, device still present": the late unmap reaches a domain that may serve
// someone else by now. The contract breach is PP002; the domain still exists, so no crash.
TEST(LegacyStrategyTest, ReturnAfterUnbindBeforeRemovalIsPP002) {
  InflightStory s = Start();
  s.Unbind();
  EXPECT_EQ(s.Device().mapped, 1u);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP002), 1u);
  const Violation& v = *ViolationsOf(*s.lab, ViolationId::kPP002)[0];
  EXPECT_EQ(v.pfn, s.held.page.pfn);
  EXPECT_NE(v.message.find("dma_unmap_page_attrs"), std::string::npos) << v.message;
  EXPECT_EQ(s.Device().mapped, 0u) << "the unmap still reached the domain";
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);

  s.Remove();  // nothing of the pool left to touch the freed domain
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
}

// Hot unplug runs the driver's remove and then device_del (docs/kernel/skb-and-iommu.md §4.5): the
// same late unmap crash as an orderly removal.
TEST(LegacyStrategyTest, SurpriseRemovalThenLateReturnIsPP001) {
  InflightStory s = Start();
  s.SurpriseRemove();
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 1u);
  EXPECT_EQ(s.Device().state, DeviceState::kRemoved);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 1u);
}

// A holder that never returns: legacy has no bound, the pool stays detached with its page
// (§5a "pool and its pages are leaked forever"), and PP012 reports it after 60 s.
TEST(LegacyStrategyTest, PageNeverReturnedKeepsPoolDetached) {
  InflightStory s = Start();
  s.Unbind();
  s.Remove();
  Advance(*s.lab, 61 * kSecond);
  EXPECT_EQ(s.Pool().state, PoolState::kDetached);
  EXPECT_EQ(s.Pool().inflight, 1u);
  EXPECT_TRUE(s.Pool().detach_time.has_value());
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP012), 1u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
}

}  // namespace
}  // namespace ppsim::sim
