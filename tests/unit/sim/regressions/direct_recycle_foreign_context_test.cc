// B9: direct (lockless) recycling from a context that does not own the pool's alloc cache
// (docs/kernel/skb-and-iommu.md §1.5, §2.1 B9, §8 scenario 18; docs/kernel/page-pool.md §3.8,
// §9.1). The alloc cache belongs to the pool's NAPI: page_pool_napi_local holds only in softirq on
// the CPU the NAPI is scheduled on (napi->list_owner) or pool->cpuid. A driver that forces
// allow_direct=true from anywhere else pushes while the owner pops: one page can be handed out
// twice (PP008). page_pool_destroy resets cpuid and clears p.napi, so after it every forced direct
// recycle is foreign, even on the CPU that used to own the cache.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Alloc;
using testing::BindNic;
using testing::kNapiCpu0;
using testing::kOtherCpu;
using testing::kProcessCpu0;
using testing::MakeLab;
using testing::MustApply;
using testing::Put;

struct Story {
  std::unique_ptr<Lab> lab;
  PoolId pool = 0;
  PageRef page;
};

Story Start() {
  Story s;
  s.lab = MakeLab(LabConfig{.profile = "v6.15"});
  s.pool = BindNic(*s.lab, {.flags = 1}).pool;  // RX queue 0: NAPI on CPU 0
  s.page = Alloc(*s.lab, s.pool).at(0);
  return s;
}

TEST(DirectRecycleForeignContext, ForcedDirectFromSoftirqOnAnotherCpuIsPP008) {
  Story s = Start();
  const uint32_t cached_before = testing::Pool(*s.lab, s.pool).cache_count;
  Put(*s.lab, s.page, kOtherCpu, /*allow_direct=*/true);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP008), 1u);
  EXPECT_EQ(s.lab->violation_total(), 1u);
  const Violation& v = *testing::ViolationsOf(*s.lab, ViolationId::kPP008)[0];
  EXPECT_EQ(v.pfn, s.page.page.pfn);
  EXPECT_EQ(v.pool, s.pool);
  EXPECT_NE(v.message.find("CPU 1"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("its NAPI runs on CPU 0"), std::string::npos) << v.message;
  // The kernel does what it was told: the page is in the cache the other CPU pops from.
  EXPECT_EQ(testing::Page(*s.lab, s.page).state, FrameState::kPoolCache);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).cache_count, cached_before + 1);
}

TEST(DirectRecycleForeignContext, ForcedDirectFromProcessContextIsPP008) {
  Story s = Start();
  Put(*s.lab, s.page, kProcessCpu0, /*allow_direct=*/true);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP008), 1u)
      << "CPU 0 but not softirq: the NAPI may run meanwhile";
}

TEST(DirectRecycleForeignContext, DirectFromTheOwnerSoftirqIsFine) {
  Story s = Start();
  Put(*s.lab, s.page, kNapiCpu0, /*allow_direct=*/true);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  EXPECT_EQ(testing::Page(*s.lab, s.page).state, FrameState::kPoolCache);
}

// Not forced: the pool decides (4a96a4e807c3) and a foreign CPU goes to the ring.
TEST(DirectRecycleForeignContext, UnforcedPutFromAnotherCpuUsesTheRing) {
  Story s = Start();
  Put(*s.lab, s.page, kOtherCpu, /*allow_direct=*/false);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  EXPECT_EQ(testing::Page(*s.lab, s.page).state, FrameState::kPoolRing);
}

// §1.5: page_pool_destroy resets cpuid to -1 and clears p.napi. The NAPI itself still runs on
// CPU 0, but the pool is no longer its consumer: a forced direct recycle even there is PP008.
TEST(DirectRecycleForeignContext, AfterDestroyEveryForcedDirectRecycleIsForeign) {
  Story s = Start();
  MustApply(*s.lab, op::PagePoolDestroy{.pool = s.pool});
  ASSERT_EQ(testing::Pool(*s.lab, s.pool).state, PoolState::kDetached);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  Put(*s.lab, s.page, kNapiCpu0, /*allow_direct=*/true);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP008), 1u);
  const Violation& v = *testing::ViolationsOf(*s.lab, ViolationId::kPP008)[0];
  EXPECT_EQ(v.pfn, s.page.page.pfn);
  EXPECT_NE(v.message.find("direct recycling is disabled"), std::string::npos) << v.message;
}

// Control for the previous case: an unforced return after destroy goes to the ring (§4.3).
TEST(DirectRecycleForeignContext, AfterDestroyAnUnforcedReturnIsProducedIntoTheRing) {
  Story s = Start();
  MustApply(*s.lab, op::PagePoolDestroy{.pool = s.pool});
  Put(*s.lab, s.page, kNapiCpu0, /*allow_direct=*/false);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  EXPECT_EQ(testing::Page(*s.lab, s.page).state, FrameState::kPoolRing);
}

// page_pool_disable_direct_recycling alone (queue restart) has the same effect.
TEST(DirectRecycleForeignContext, AfterDisableDirectRecyclingTheOwnerIsForeignToo) {
  Story s = Start();
  MustApply(*s.lab, op::PagePoolDisableDirectRecycling{.pool = s.pool});
  Put(*s.lab, s.page, kNapiCpu0, /*allow_direct=*/true);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP008), 1u);
}

}  // namespace
}  // namespace ppsim::sim
