// `release-on-destroy`, Jesper Dangaard Brouer's idea in the RFC v4 review
// (docs/kernel/page-pool.md §5f; https://lkml.iu.edu/hypermail/linux/kernel/2411.3/01932.html): at
// destroy every page in flight is unmapped and turned into an ordinary page (signature cleared, pp
// references converted to page references), so the pool is freed at once with no retry, and holders
// that return through the skb path see no signature and put_page.
#include "gtest/gtest.h"
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

InflightStory Start() {
  return StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "release-on-destroy");
}

// §5f Benefit: "the pool and the driver are fully decoupled immediately; no stalled-pool
// state". §4.1 step 5: a pool freed during destroy never shows a detach_time.
TEST(ReleaseOnDestroyStrategyTest, PoolIsFreedAtOnceAtDestroy) {
  InflightStory s = Start();
  const uint64_t unbind_op = NextOpIndex(*s.lab);
  s.Unbind();
  const PoolInfo pool = s.Pool();
  EXPECT_EQ(pool.state, PoolState::kFreed);
  EXPECT_FALSE(pool.detach_time.has_value());
  EXPECT_EQ(pool.inflight, 0u);
  EXPECT_EQ(pool.costs.destroy_unmaps, 1u);
  // Unmapped during destroy, before dma-debug's unbind check.
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 0u);
  EXPECT_EQ(s.Device().mapped, 0u);
  // The held page is an ordinary page now: no signature, no pool, its reference kept.
  const PageInfo page = *s.lab->GetPage(s.held.page.pfn);
  EXPECT_FALSE(page.is_pp);
  EXPECT_EQ(page.pool, 0u);
  EXPECT_EQ(page.dma_addr, 0u);
  EXPECT_EQ(page.refcount, 1);
  EXPECT_EQ(page.state, FrameState::kAllocated);
  EXPECT_TRUE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kConvert, unbind_op));
}

// The story: the late napi_pp_put_page finds no signature and becomes a put_page; the page
// goes back to the page allocator with no DMA API call (no PP001) and no "page_pool leak"
// (no PP011), and nothing touches the freed pool (no PP015).
TEST(ReleaseOnDestroyStrategyTest, LateReturnAfterRemovalIsAPlainPutPage) {
  InflightStory s = Start();
  s.Unbind();
  s.Remove();
  const uint32_t released = s.Pool().release_cnt;
  const uint64_t return_op = NextOpIndex(*s.lab);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.Pool().release_cnt, released) << "the freed pool is not touched";
  EXPECT_TRUE(testing::IsFree(s.lab->GetPage(s.held.page.pfn)->state));
  EXPECT_TRUE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kPutPage, return_op));
  EXPECT_FALSE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaUnmap, return_op));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// §5f: "any remaining pp_ref_count references (fragments, pp-aware skbs) would have to be
// converted into _refcount references": two pp references become two page references, and
// the page is freed only by the second put.
TEST(ReleaseOnDestroyStrategyTest, PpReferencesBecomePageReferences) {
  InflightStory s = Start();
  MustApply(*s.lab, op::PagePoolRefPage{.page = s.held.page}, kNapiCpu0);  // skb_pp_frag_ref
  s.Unbind();
  EXPECT_EQ(s.lab->GetPage(s.held.page.pfn)->refcount, 2);
  s.Remove();
  s.ReturnHeld();
  EXPECT_EQ(s.lab->GetPage(s.held.page.pfn)->refcount, 1);
  EXPECT_FALSE(testing::IsFree(s.lab->GetPage(s.held.page.pfn)->state));
  s.ReturnHeld();
  EXPECT_TRUE(testing::IsFree(s.lab->GetPage(s.held.page.pfn)->state));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// The refcount-conversion race of docs/kernel/page-pool.md §5f: a driver that still returns the
// page to the pool it names after release-on-destroy freed that pool writes into a freed struct.
TEST(ReleaseOnDestroyStrategyTest, DriverPutIntoTheFreedPoolIsPoolUseAfterFree) {
  InflightStory s = StartInflightStory(LabConfig{}, "release-on-destroy");
  s.Unbind();
  ASSERT_EQ(s.Pool().state, PoolState::kFreed);
  MustApply(*s.lab, op::PagePoolPutPage{.pool = s.pool, .page = s.held.page}, kNapiCpu0);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP015), 1u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP016), 0u);
}

}  // namespace
}  // namespace ppsim::sim
