// Tests for server/sim/page_pool_alloc.cc: the allocation paths of docs/kernel/page-pool.md §3.1
// (cache, refill from the ring, slow path) and fragments (§3.2), with the §2.4 statistics.
#include <vector>

#include "gtest/gtest.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::Alloc;
using ::ppsim::sim::testing::BindNic;
using ::ppsim::sim::testing::CountEvents;
using ::ppsim::sim::testing::InBuddy;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::kProcessCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::Nic;
using ::ppsim::sim::testing::Page;
using ::ppsim::sim::testing::Pool;
using ::ppsim::sim::testing::Put;
using ::ppsim::sim::testing::MustApply;

PageRef Frag(Lab& lab, PoolId pool, uint32_t size) {
  std::vector<PageRef> got =
      MustApply(lab, op::PagePoolAllocFrag{.pool = pool, .size = size}, kNapiCpu0).pages;
  EXPECT_EQ(got.size(), 1u) << "frag of " << size;
  return got.empty() ? PageRef{} : got[0];
}

// §3.1 step 3: an allocation on an empty pool bulk-allocates 64 order-0 pages into the cache;
// inflight jumps to 64 at once, slow counts the bulk call once, and the empty ring counts as
// `empty`.
TEST(PagePoolAllocTest, FirstAllocationTakes64PagesFromTheBuddyAllocator) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  const uint64_t free_before = LabTestPeer::machine(*lab).memory.free_pages();

  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(LabTestPeer::machine(*lab).memory.free_pages(), free_before - 64);
  EXPECT_EQ(p.inflight, 64u);
  EXPECT_EQ(p.hold_cnt, 64u);
  EXPECT_EQ(p.cache_count, 63u);
  EXPECT_EQ(p.alloc.slow, 1u);
  EXPECT_EQ(p.alloc.empty, 1u);
  EXPECT_EQ(p.alloc.fast, 0u);
  EXPECT_EQ(p.alloc.refill, 0u);
  EXPECT_EQ(p.alloc.slow_high_order, 0u);

  // §1.4 state 3: handed out, signature and pp set, pp_ref_count 1, _refcount 1.
  PageInfo page = Page(*lab, pages[0]);
  EXPECT_EQ(page.state, FrameState::kPoolOut);
  EXPECT_TRUE(page.is_pp);
  EXPECT_EQ(page.pool, nic.pool);
  EXPECT_EQ(page.pp_ref_count, 1);
  EXPECT_EQ(page.refcount, 1);
}

// §3.1 step 1: the next 63 allocations pop the cache (fast); only the 65th goes slow again.
TEST(PagePoolAllocTest, AllocationsPopTheCacheUntilItIsEmpty) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.fast, 1u);
  EXPECT_EQ(p.alloc.slow, 1u);
  EXPECT_EQ(p.cache_count, 62u);
  EXPECT_EQ(p.inflight, 64u);

  ASSERT_EQ(Alloc(*lab, nic.pool, 62).size(), 62u);
  EXPECT_EQ(Pool(*lab, nic.pool).alloc.fast, 63u);
  EXPECT_EQ(Pool(*lab, nic.pool).cache_count, 0u);
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.slow, 2u);
  EXPECT_EQ(p.alloc.empty, 2u);
  EXPECT_EQ(p.inflight, 128u);
}

// §3.1 step 2: with the cache empty, refill moves ring pages into the cache and pops one
// (`refill`, not `fast`); an empty ring counts `empty` and forces the slow path.
TEST(PagePoolAllocTest, RefillFromTheRingThenEmptyWhenTheRingIsEmpty) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 64);
  ASSERT_EQ(pages.size(), 64u);
  for (int i = 0; i < 10; ++i) Put(*lab, pages[i], kProcessCpu0);  // process context: ring
  ASSERT_EQ(Pool(*lab, nic.pool).ring_count, 10u);
  const PoolInfo before = Pool(*lab, nic.pool);

  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.refill, before.alloc.refill + 1);
  EXPECT_EQ(p.alloc.fast, before.alloc.fast);
  EXPECT_EQ(p.alloc.slow, before.alloc.slow);
  EXPECT_EQ(p.alloc.empty, before.alloc.empty);
  EXPECT_EQ(p.ring_count, 0u);
  EXPECT_EQ(p.cache_count, 9u);
  EXPECT_EQ(p.hold_cnt, before.hold_cnt);  // no new page entered the pool

  ASSERT_EQ(Alloc(*lab, nic.pool, 9).size(), 9u);
  EXPECT_EQ(Pool(*lab, nic.pool).alloc.fast, before.alloc.fast + 9);

  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);  // cache and ring both empty
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.empty, before.alloc.empty + 1);
  EXPECT_EQ(p.alloc.slow, before.alloc.slow + 1);
  EXPECT_EQ(p.alloc.refill, before.alloc.refill + 1);
}

// §3.1 step 2 / §3.7: after page_pool_update_nid, the first ring page on the old node is
// released (`waive`) and ends the refill; with the cache still empty the slow path allocates on
// the new node. The rest of the ring stays put.
TEST(PagePoolAllocTest, RefillWaivesAnOffNodeRingPage) {
  auto lab = MakeLab({.numa_nodes = 2});
  Nic nic = BindNic(*lab, {.nid = 0});
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 64);
  ASSERT_EQ(pages.size(), 64u);
  ASSERT_EQ(Page(*lab, pages[0]).node, 0u);
  for (int i = 0; i < 3; ++i) Put(*lab, pages[i], kProcessCpu0);
  MustApply(*lab, op::PagePoolUpdateNid{.pool = nic.pool, .nid = 1}, kNapiCpu0);
  const PoolInfo before = Pool(*lab, nic.pool);

  std::vector<PageRef> fresh = Alloc(*lab, nic.pool, 1);
  ASSERT_EQ(fresh.size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.waive, 1u);
  EXPECT_EQ(p.alloc.refill, before.alloc.refill);
  EXPECT_EQ(p.alloc.slow, before.alloc.slow + 1);
  EXPECT_EQ(p.ring_count, 2u);
  EXPECT_EQ(p.release_cnt, before.release_cnt + 1);
  EXPECT_EQ(Page(*lab, fresh[0]).node, 1u);
  EXPECT_TRUE(InBuddy(Page(*lab, pages[0])));  // the waived page went back to the allocator
}

// §3.1 step 3: order > 0 allocates one compound page per call (`slow_high_order`), no bulk.
TEST(PagePoolAllocTest, HighOrderPoolAllocatesOneCompoundPage) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab, {.order = 2});
  const uint64_t free_before = LabTestPeer::machine(*lab).memory.free_pages();
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.alloc.slow_high_order, 1u);
  EXPECT_EQ(p.alloc.slow, 0u);
  EXPECT_EQ(p.inflight, 1u);
  EXPECT_EQ(p.cache_count, 0u);
  EXPECT_EQ(p.inflight_mem, 4096u << 2);
  EXPECT_EQ(LabTestPeer::machine(*lab).memory.free_pages(), free_before - 4);
  EXPECT_EQ(Page(*lab, pages[0]).order, 2u);

  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  EXPECT_EQ(Pool(*lab, nic.pool).alloc.slow_high_order, 2u);
}

// §3.2: two fragments that fit share one page; the page carries the BIAS_MAX pp_ref_count, and
// each put fragment takes one off it.
TEST(PagePoolFragTest, TwoFragmentsShareAPageUnderTheBias) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  PageRef a = Frag(*lab, nic.pool, 2048);
  PageRef b = Frag(*lab, nic.pool, 2048);
  EXPECT_EQ(a.page, b.page);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(b.offset, 2048u);
  EXPECT_EQ(Page(*lab, a).pp_ref_count, BIAS_MAX);

  Put(*lab, a, kProcessCpu0);
  EXPECT_EQ(Page(*lab, a).pp_ref_count, BIAS_MAX - 1);
  EXPECT_EQ(Page(*lab, a).state, FrameState::kPoolOut);
  EXPECT_EQ(Pool(*lab, nic.pool).recycle.ring, 0u);
}

// §3.2: sizes are rounded up to the DMA cache alignment (64 on x86-64).
TEST(PagePoolFragTest, FragmentSizesAreCacheAligned) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  PageRef a = Frag(*lab, nic.pool, 100);
  PageRef b = Frag(*lab, nic.pool, 100);
  EXPECT_EQ(a.page, b.page);
  EXPECT_EQ(b.offset, 128u);
}

// §3.2: when the next fragment does not fit, the bias is drained. With both fragments already
// put, the count drops to zero and the page is reused at once as the new frag page (`cached`++
// and `fast`++), without touching the cache.
TEST(PagePoolFragTest, DrainedPageWithNoFragmentsOutIsReused) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  PageRef a = Frag(*lab, nic.pool, 2048);
  PageRef b = Frag(*lab, nic.pool, 2048);
  Put(*lab, a, kProcessCpu0);
  Put(*lab, b, kProcessCpu0);
  EXPECT_EQ(Page(*lab, a).pp_ref_count, BIAS_MAX - 2);
  const PoolInfo before = Pool(*lab, nic.pool);

  PageRef c = Frag(*lab, nic.pool, 2048);
  EXPECT_EQ(c.page.pfn, a.page.pfn);
  EXPECT_EQ(c.offset, 0u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.recycle.cached, before.recycle.cached + 1);
  EXPECT_EQ(p.alloc.fast, before.alloc.fast + 1);
  EXPECT_EQ(p.cache_count, before.cache_count);
  EXPECT_EQ(p.inflight, before.inflight);
  EXPECT_EQ(Page(*lab, c).pp_ref_count, BIAS_MAX);
}

// §3.2: with a fragment still out, the drained page stays with its holder and a fresh page
// becomes the frag page.
TEST(PagePoolFragTest, DrainedPageWithAFragmentOutStaysWithItsHolder) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  PageRef a = Frag(*lab, nic.pool, 2048);
  PageRef b = Frag(*lab, nic.pool, 2048);
  Put(*lab, a, kProcessCpu0);
  PageRef c = Frag(*lab, nic.pool, 2048);
  EXPECT_NE(c.page.pfn, b.page.pfn);
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(Page(*lab, b).pp_ref_count, 1);  // b's reference only
  EXPECT_EQ(Page(*lab, b).state, FrameState::kPoolOut);
}

// §3.2: a fragment larger than PAGE_SIZE << order fails (WARN, NULL) and changes nothing;
// an order-1 pool takes it.
TEST(PagePoolFragTest, OversizedFragmentFails) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  OpResult r = MustApply(*lab, op::PagePoolAllocFrag{.pool = nic.pool, .size = 4097}, kNapiCpu0);
  EXPECT_TRUE(r.pages.empty());
  EXPECT_EQ(Pool(*lab, nic.pool).hold_cnt, 0u);
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kKernelLog, nic.pool, "WARNING"), 1);

  const PoolId big = MustApply(*lab, op::PagePoolCreate{.order = 1}).pool;
  r = MustApply(*lab, op::PagePoolAllocFrag{.pool = big, .size = 8192}, kNapiCpu0);
  EXPECT_EQ(r.pages.size(), 1u);
}

}  // namespace
}  // namespace ppsim::sim
