// pfmemalloc pages are released, never recycled (docs/kernel/skb-and-iommu.md §1.1 step 6, §1.2,
// §8 scenario 19; docs/kernel/page-pool.md §3.4 __page_pool_page_can_be_recycled). Under memory
// pressure the page allocator hands out emergency-reserve pages (page_is_pfmemalloc); a pool
// that kept one for RX would starve the reserves, so the put path releases it
// (recycle_stats.released_refcnt, rx_pp_recycle_released_ref) even when _refcount is 1. The
// profile switch pool_recycles_pfmemalloc is a deliberately broken pool: the checker must
// catch it as PP016 (docs/design.md §3.11).
#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Alloc;
using testing::BindNic;
using testing::InBuddy;
using testing::kNapiCpu0;
using testing::kOtherCpu;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  PoolId pool = 0;
  PageRef page;
  uint32_t skb = 0;
  PoolInfo before;
};

// A NIC allocates one RX page (under pressure or not) and builds a recycle-marked skb on it.
Story Start(bool pressure, bool broken_pool = false) {
  LabConfig cfg;
  if (broken_pool) cfg.profile_switches = {{"pool_recycles_pfmemalloc", "true"}};
  Story s;
  s.lab = MakeLab(cfg);
  if (pressure) MustApply(*s.lab, op::SetMemoryPressure{.on = true});
  s.pool = BindNic(*s.lab, {.flags = 1}).pool;
  s.page = Alloc(*s.lab, s.pool).at(0);
  s.skb = MustApply(*s.lab, op::SkbBuild{.frags = {{.page = s.page.page}}}, kNapiCpu0).skbs.at(0);
  s.before = testing::Pool(*s.lab, s.pool);
  return s;
}

void FreeSkb(Story& s, ExecContext ctx) { MustApply(*s.lab, op::KfreeSkb{.skb = s.skb}, ctx); }

TEST(PfmemallocPageNeverRecycled, PagesAllocatedUnderPressureArePfmemalloc) {
  Story s = Start(/*pressure=*/true);
  EXPECT_TRUE(testing::Page(*s.lab, s.page).pfmemalloc);
  Story calm = Start(/*pressure=*/false);
  EXPECT_FALSE(testing::Page(*calm.lab, calm.page).pfmemalloc);
}

// Freed on the NAPI's CPU: direct recycling would be allowed, the page is released instead.
TEST(PfmemallocPageNeverRecycled, SkbFreeOnTheNapiCpuReleasesIt) {
  Story s = Start(/*pressure=*/true);
  FreeSkb(s, kNapiCpu0);
  const PoolInfo after = testing::Pool(*s.lab, s.pool);
  EXPECT_EQ(after.recycle.released_refcnt, s.before.recycle.released_refcnt + 1);
  EXPECT_EQ(after.recycle.cached, s.before.recycle.cached);
  EXPECT_EQ(after.recycle.ring, s.before.recycle.ring);
  EXPECT_EQ(after.cache_count, s.before.cache_count) << "not pushed into the alloc cache";
  EXPECT_EQ(after.ring_count, 0u);
  EXPECT_EQ(after.release_cnt, s.before.release_cnt + 1);
  EXPECT_EQ(after.inflight_strict, s.before.inflight_strict - 1);
  const PageInfo page = testing::Page(*s.lab, s.page);
  EXPECT_TRUE(InBuddy(page)) << FrameStateName(page.state);
  EXPECT_FALSE(page.is_pp) << "pp info cleared on release";
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// Freed on another CPU: the ring would take it, the page is released instead.
TEST(PfmemallocPageNeverRecycled, SkbFreeOnAnotherCpuReleasesIt) {
  Story s = Start(/*pressure=*/true);
  FreeSkb(s, kOtherCpu);
  const PoolInfo after = testing::Pool(*s.lab, s.pool);
  EXPECT_EQ(after.recycle.released_refcnt, s.before.recycle.released_refcnt + 1);
  EXPECT_EQ(after.recycle.ring, 0u);
  EXPECT_EQ(after.ring_count, 0u);
  EXPECT_TRUE(InBuddy(testing::Page(*s.lab, s.page)));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// The flag travels with the page: pressure gone by the time of the free changes nothing.
TEST(PfmemallocPageNeverRecycled, PressureEndingBeforeTheFreeDoesNotMakeItRecyclable) {
  Story s = Start(/*pressure=*/true);
  MustApply(*s.lab, op::SetMemoryPressure{.on = false});
  FreeSkb(s, kNapiCpu0);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt,
            s.before.recycle.released_refcnt + 1);
  EXPECT_TRUE(InBuddy(testing::Page(*s.lab, s.page)));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// Control: the same free of an ordinary page recycles it into the alloc cache.
TEST(PfmemallocPageNeverRecycled, AnOrdinaryPageIsRecycled) {
  Story s = Start(/*pressure=*/false);
  FreeSkb(s, kNapiCpu0);
  const PoolInfo after = testing::Pool(*s.lab, s.pool);
  EXPECT_EQ(after.recycle.released_refcnt, s.before.recycle.released_refcnt);
  EXPECT_EQ(after.recycle.cached, s.before.recycle.cached + 1);
  EXPECT_EQ(testing::Page(*s.lab, s.page).state, FrameState::kPoolCache);
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// The broken pool keeps the reserve page: PP016 names it, in the cache and in the ring.
TEST(PfmemallocPageNeverRecycled, APoolThatRecyclesPfmemallocIsCaught) {
  for (ExecContext ctx : {kNapiCpu0, kOtherCpu}) {
    Story s = Start(/*pressure=*/true, /*broken_pool=*/true);
    FreeSkb(s, ctx);
    ASSERT_EQ(s.lab->violation_count(ViolationId::kPP016), 1u) << "cpu " << ctx.cpu;
    const Violation& v = *testing::ViolationsOf(*s.lab, ViolationId::kPP016)[0];
    EXPECT_EQ(v.pfn, s.page.page.pfn);
    EXPECT_EQ(v.pool, s.pool);
    EXPECT_NE(v.message.find("pfmemalloc"), std::string::npos) << v.message;
    const PoolInfo after = testing::Pool(*s.lab, s.pool);
    EXPECT_EQ(after.recycle.released_refcnt, s.before.recycle.released_refcnt);
    EXPECT_EQ(testing::Page(*s.lab, s.page).state,
              ctx == kNapiCpu0 ? FrameState::kPoolCache : FrameState::kPoolRing);
  }
}

}  // namespace
}  // namespace ppsim::sim
