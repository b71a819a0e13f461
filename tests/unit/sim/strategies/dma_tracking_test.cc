// `dma-tracking`, the merged v6.15 fix ee62ce7a1d90 "page_pool: Track DMA-mapped pages and
// unmap them when destroying the pool" (docs/kernel/page-pool.md §5d, §4.1, §4.3;
// docs/kernel/skb-and-iommu.md §4.6): the first scrub unmaps every tracked page, so after
// page_pool_destroy the pool never calls the DMA API for the device again. Where
// PP_DMA_INDEX_BITS is 0 (32-bit, 95920c2ed02b) tracking is compiled out and the legacy late
// unmap returns.
#include "gtest/gtest.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::kNapiCpu0;
using testing::MustApply;
using testing::NextOpIndex;
using testing::PageEventSince;
using testing::StartInflightStory;

// The strategy is left to the profile: v6.15 defaults to dma-tracking (§5d).
InflightStory Start(const char* profile = "v6.15") {
  return StartInflightStory(LabConfig{.profile = profile}, "");
}

TEST(DmaTrackingStrategyTest, IsTheV615Default) {
  InflightStory s = Start();
  EXPECT_EQ(s.Pool().strategy, "dma-tracking");
}

// §4.1 page_pool_scrub: the scrub unmaps the held page at destroy, before dma-debug's leak
// check at BUS_NOTIFY_UNBOUND_DRIVER, so no mapping is pending at unbind: no PP005.
TEST(DmaTrackingStrategyTest, ScrubUnmapsInFlightPageBeforeUnbindLeakCheck) {
  InflightStory s = Start();
  const uint64_t unbind_op = NextOpIndex(*s.lab);
  s.Unbind();
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 0u);
  EXPECT_EQ(s.Device().mapped, 0u);
  EXPECT_EQ(s.Device().dma_debug_pending, 0u);
  EXPECT_TRUE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kScrubUnmap, unbind_op));
  // §5d "Only DMA is fixed: pages and the pool struct still stay in flight".
  EXPECT_EQ(s.Pool().state, PoolState::kDetached);
  EXPECT_EQ(s.Pool().inflight, 1u);
  EXPECT_EQ(s.Pool().costs.destroy_unmaps, 1u) << "cached pages left the normal way";
}

// §4.3 "With tracking ... at return time the cmpxchg finds the xarray slot empty, so no DMA
// API call happens; the page's fields are cleared and the page is freed."
TEST(DmaTrackingStrategyTest, LateReturnAfterRemovalMakesNoDmaApiCall) {
  InflightStory s = Start();
  s.Unbind();
  s.Remove();
  const uint64_t return_op = NextOpIndex(*s.lab);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 0u);
  EXPECT_FALSE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaUnmap, return_op));
  EXPECT_FALSE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaSync, return_op));
  EXPECT_EQ(s.Pool().state, PoolState::kFreed) << "inflight reached 0";
  const PageInfo page = *s.lab->GetPage(s.held.page.pfn);
  EXPECT_TRUE(testing::IsFree(page.state)) << "freed to the page allocator";
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// The contrast with legacy's PP002: a return while the device is unbound but present touches
// nothing either (docs/design.md §3.6 table).
// ee62ce7a1d90 went to older stable series too (Fixes: ff7d6b27f894, docs/kernel/page-pool.md §5d):
// a v6.8 lab whose default strategy is dma-tracking runs the backport, index bits included.
TEST(DmaTrackingStrategyTest, OlderProfileWithTheLabDefaultRunsTheBackport) {
  LabConfig cfg;
  cfg.profile = "v6.8";
  cfg.default_strategy = "dma-tracking";
  InflightStory s = StartInflightStory(cfg, "");
  EXPECT_EQ(LabTestPeer::machine(*s.lab).profile.DmaIndexBits(), 32u);
  s.Unbind();
  s.Remove();
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 0u);
}

// The index lives in pp_magic, whose mask is machine-wide: one pool cannot run the patch on a
// kernel that lacks it; the error says how to get it.
TEST(DmaTrackingStrategyTest, OnePoolCannotTrackOnAProfileWithoutTheIndex) {
  LabConfig cfg;
  cfg.profile = "v6.8";
  auto lab = testing::MakeLab(cfg);
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  absl::StatusOr<OpResult> r = lab->Apply(
      {.body = op::BindDriver{.device = dev, .flags = 1, .strategy = "dma-tracking"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("pp_magic_has_dma_index"), absl::string_view::npos)
      << r.status();
  EXPECT_EQ(lab->GetDevice(dev)->state, DeviceState::kPresent) << "a rejected bind changes nothing";
  EXPECT_TRUE(lab->ListPools().empty());
}

TEST(DmaTrackingStrategyTest, LateReturnWhileUnboundMakesNoDmaApiCall) {
  InflightStory s = Start();
  s.Unbind();
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  s.Remove();
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// §1.3: ppc64 has 21 index bits; tracking works the same over the TCE window.
TEST(DmaTrackingStrategyTest, Ppc64ProfileOverDdwHasNoLateUnmap) {
  InflightStory s = StartInflightStory(
      LabConfig{.iommu_model = IommuModel::kPpcDdw, .profile = "v6.15-ppc64"}, "dma-tracking");
  s.Unbind();
  s.Remove();
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// §5d "When PP_DMA_INDEX_BITS = 0, tracking is skipped and the legacy late-unmap behaviour
// returns (since 95920c2ed02b)": a 32-bit build whose PAGE_OFFSET is not a constant. v6.15 has 280e5a301005, so the late unmap after removal is
// dma-direct's no-op (PP002); with 6.12-6.14's release rule it is the oops again.
TEST(DmaTrackingStrategyTest, ThirtyTwoBitProfileBringsLegacyLateUnmapBack) {
  for (const bool kept : {false, true}) {
    SCOPED_TRACE(kept ? "dma-iommu-kept" : "v6.15 as released");
    LabConfig cfg{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.15-riscv32-nommu"};
    if (kept) cfg.profile_switches = {{"iommu_release_rule", "dma-iommu-kept"}};
    InflightStory s = StartInflightStory(cfg, "");
    ASSERT_EQ(LabTestPeer::machine(*s.lab).profile.DmaIndexBits(), 0u);
    EXPECT_EQ(s.Pool().strategy, "dma-tracking");
    s.Unbind();
    EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 1u);
    EXPECT_EQ(s.Device().mapped, 1u);
    s.Remove();
    s.ReturnHeld();
    Advance(*s.lab, 2 * kSecond);
    EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), kept ? 1u : 0u);
    EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), kept ? 0u : 1u);
  }
}

// i386 keeps tracking: 23 index bits below PAGE_OFFSET (95920c2ed02b), so destroy unmaps the
// held page and its late return makes no DMA API call (issue 13 item 3).
TEST(DmaTrackingStrategyTest, I386KeepsTrackingWith23IndexBits) {
  InflightStory s = StartInflightStory(
      LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.15-32bit",
                .profile_switches = {{"iommu_release_rule", "dma-iommu-kept"}}},
      "");
  ASSERT_EQ(LabTestPeer::machine(*s.lab).profile.DmaIndexBits(), 23u);
  s.Unbind();
  EXPECT_EQ(s.Device().mapped, 0u) << "destroy unmapped the page in flight";
  s.Remove();
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 0u);
}

// §5d "xa_alloc failure (ENOMEM ...) makes the page mapping fail. The page is unmapped and
// freed, so the allocation fails." One failure in a bulk refill of 64 leaves 63 in the pool.
TEST(DmaTrackingStrategyTest, XaAllocFailureUnmapsAndFreesThePage) {
  auto lab = testing::MakeLab(LabConfig{.profile = "v6.15"});
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId pool = MustApply(*lab, op::BindDriver{.device = dev, .flags = 1}).pools.at(0);
  MustApply(*lab, op::SetFault{.site = "fail_dma_track", .times = 1});
  ASSERT_EQ(MustApply(*lab, op::PagePoolAllocPages{.pool = pool}, kNapiCpu0).pages.size(), 1u);
  EXPECT_EQ(lab->GetPool(pool)->hold_cnt, 63u);
  EXPECT_EQ(lab->GetDevice(dev)->mapped, 63u) << "the failed page's mapping was undone";
  EXPECT_EQ(lab->GetDevice(dev)->dma_debug_pending, 63u);
  EXPECT_EQ(lab->violation_total(), 0u) << "ENOMEM is silent; the freed page has no signature";
}

}  // namespace
}  // namespace ppsim::sim
