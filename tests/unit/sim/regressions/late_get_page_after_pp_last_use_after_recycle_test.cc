// R2: a subsystem that kept a raw page pointer takes get_page after the skb dropped the last pp
// reference (docs/kernel/skb-and-iommu.md §3.1, §3.3 R2, §8 scenario 9). At pp-last the pool saw
// _refcount 1 and recycled the page, so the late reference shares a page the pool will hand to
// the device again: use-after-recycle (PP007), which no kernel tool reports. R1 is the legal
// order: the reference is taken while the skb still holds its pp reference, the pool sees
// _refcount 2 at pp-last and gives the page up (rx_pp_recycle_released_ref, §6), and the
// holder's put_page frees it as an ordinary page.
#include <gtest/gtest.h>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  PoolId pool = 0;
  PageRef page;      // the subsystem's cached pointer: the handle, no reference of its own
  uint32_t skb = 0;
};

Story Start() {
  Story s;
  s.lab = MakeLab();
  s.pool = BindNic(*s.lab, {.flags = 1}).pool;
  s.page = testing::Alloc(*s.lab, s.pool).at(0);
  s.skb = MustApply(*s.lab, op::SkbBuild{.frags = {{.page = s.page.page}}}, kNapiCpu0).skbs.at(0);
  return s;
}

TEST(LateGetPageAfterPpLast, GetPageOnARecycledPageIsUseAfterRecycle) {
  Story s = Start();
  MustApply(*s.lab, op::KfreeSkb{.skb = s.skb}, kNapiCpu0);
  const PageInfo recycled = testing::Page(*s.lab, s.page);
  EXPECT_EQ(recycled.state, FrameState::kPoolCache) << "pp-last saw rc 1: recycled";
  EXPECT_EQ(recycled.refcount, 1);
  EXPECT_EQ(s.lab->violation_total(), 0u);

  MustApply(*s.lab, op::GetPage{.page = s.page.page});
  const auto pp007 = testing::ViolationsOf(*s.lab, ViolationId::kPP007);
  ASSERT_EQ(pp007.size(), 1u);
  EXPECT_EQ(pp007[0]->pfn, s.page.page.pfn);
  EXPECT_EQ(pp007[0]->pool, s.pool);
  EXPECT_EQ(testing::Page(*s.lab, s.page).refcount, 2);

  // The late holder's put_page goes through the same (not yet reissued) handle: no second
  // use-after-recycle. What it does to the page is not asserted here: §3.3 R2 says it takes rc
  // from 1 to 0 while the page sits in the pool, the model balances it against the get_page.
  MustApply(*s.lab, op::PutPage{.page = s.page.page});
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP007), 1u);
}

TEST(LateGetPageAfterPpLast, GetPageBeforePpLastMakesThePoolReleaseThePage) {
  Story s = Start();
  MustApply(*s.lab, op::GetPage{.page = s.page.page});
  EXPECT_EQ(testing::Page(*s.lab, s.page).refcount, 2);

  MustApply(*s.lab, op::KfreeSkb{.skb = s.skb}, kNapiCpu0);
  const PageInfo released = testing::Page(*s.lab, s.page);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt, 1u);
  EXPECT_FALSE(released.is_pp) << "page_pool_clear_pp_info";
  EXPECT_EQ(released.state, FrameState::kAllocated);
  EXPECT_EQ(released.refcount, 1) << "only the holder's reference is left";
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).cache_count, 63u) << "not recycled";

  MustApply(*s.lab, op::PutPage{.page = s.page.page});
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.page)));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

}  // namespace
}  // namespace ppsim::sim
