// client/oracle/compare.h: the op-by-op rules, on hand-made observations.
#include "client/oracle/compare.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

OpObs Op(int index, PoolObs pool) {
  OpObs o;
  o.op = index;
  o.line = absl::StrCat("op", index);
  o.pools.push_back(pool);
  return o;
}

PoolObs Pool(int64_t cache, int64_t destroy_cnt = 0) {
  return PoolObs{.pool = 1, .state = "live", .cache = cache, .destroy_cnt = destroy_cnt};
}

TEST(OracleCompareTest, SameObservationsAgree) {
  const std::vector<OpObs> k = {Op(0, Pool(56)), Op(1, Pool(57))};
  EXPECT_TRUE(Compare(k, k).agree());
}

TEST(OracleCompareTest, FirstDivergenceNamesOpFieldAndBothValues) {
  const std::vector<OpObs> k = {Op(0, Pool(56)), Op(1, Pool(57)), Op(2, Pool(58))};
  const std::vector<OpObs> m = {Op(0, Pool(56)), Op(1, Pool(60)), Op(2, Pool(61))};
  const Comparison c = Compare(k, m);
  ASSERT_EQ(c.divergences.size(), 2u);
  EXPECT_EQ(c.divergences[0].op, 1);
  EXPECT_EQ(c.divergences[0].line, "op1");
  EXPECT_EQ(c.divergences[0].field, "pool 1 cache");
  EXPECT_EQ(c.divergences[0].kernel, "57");
  EXPECT_EQ(c.divergences[0].model, "60");
}

// page_pool_release_retry runs every DEFER_TIME (net/core/page_pool.c): the count of scrubs
// may be one retry apart, no more.
TEST(OracleCompareTest, DestroyCountMayDifferByOneRetry) {
  EXPECT_TRUE(Compare({Op(0, Pool(0, 3))}, {Op(0, Pool(0, 2))}).agree());
  const Comparison c = Compare({Op(0, Pool(0, 4))}, {Op(0, Pool(0, 2))});
  ASSERT_EQ(c.divergences.size(), 1u);
  EXPECT_EQ(c.divergences[0].field, "pool 1 destroy_cnt");
}

TEST(OracleCompareTest, StalledWarningMayComeOneOpLaterOnEitherSide) {
  std::vector<OpObs> k = {Op(0, Pool(0)), Op(1, Pool(0)), Op(2, Pool(0))};
  std::vector<OpObs> m = k;
  k[1].flags.stalled = true;
  m[2].flags.stalled = true;
  EXPECT_TRUE(Compare(k, m).agree());
  EXPECT_TRUE(Compare(m, k).agree());
  m[2].flags.stalled = false;
  const Comparison c = Compare(k, m);
  ASSERT_EQ(c.divergences.size(), 1u);
  EXPECT_EQ(c.divergences[0].op, 1);
  EXPECT_EQ(c.divergences[0].field, "flags stalled");  // the rule's own name
  EXPECT_EQ(c.divergences[0].kernel, "true");
  EXPECT_THAT(c.divergences[0].note, HasSubstr("next"));
}

// kernel/time/timer.c: a 1 s timer is rounded up by as much as 32 ms at HZ=250; after a minute
// of retries the kernel has done about two fewer than the model's exact seconds.
TEST(OracleCompareTest, DestroyCountAllowsTimerSlackOverManyRetries) {
  EXPECT_TRUE(Compare({Op(0, Pool(0, 61))}, {Op(0, Pool(0, 63))}).agree());
  EXPECT_FALSE(Compare({Op(0, Pool(0, 58))}, {Op(0, Pool(0, 63))}).agree());
}

// page_pool_release_retry runs 1 s after the destroy (net/core/page_pool.c DEFER_TIME), on the
// kernel up to 60 ms late or, measured from the destroy op's return, as early; the kernel's ops take real time, the model's none. A difference in
// the destroyed pool while the two sides straddle that retry is timing, listed apart.
TEST(OracleCompareTest, DestroyedPoolDifferenceAcrossARetryIsTiming) {
  auto at = [](OpObs o, double t, const char* line) {
    o.t_s = t;
    o.line = line;
    o.pools[0].state = "destroyed";
    return o;
  };
  const std::vector<OpObs> k = {at(Op(0, Pool(0)), 0, "page_pool_destroy pool=1"),
                                at(Op(1, Pool(0)), 1.2, "observe")};
  const std::vector<OpObs> m = {at(Op(0, Pool(0)), 0, "page_pool_destroy pool=1"),
                                at(Op(1, Pool(3)), 0, "observe")};
  const Comparison c = Compare(k, m);
  EXPECT_TRUE(c.agree());
  ASSERT_EQ(c.timing.size(), 1u);
  EXPECT_EQ(c.timing[0].field, "pool 1 cache");
  EXPECT_THAT(c.timing[0].note, HasSubstr("1.20 s after the destroy"));

  // Both sides before the first retry: the same difference is a divergence.
  std::vector<OpObs> early = k;
  early[1].t_s = 0.5;
  EXPECT_EQ(Compare(early, m).divergences.size(), 1u);
  // 1.03 s: the kernel's retry may still be pending (it runs up to 60 ms late) while the
  // model's, advanced to 1.03 s too, has run: timing.
  std::vector<OpObs> late = k, model_late = m;
  late[1].t_s = 1.03;
  model_late[1].t_s = 1.03;
  EXPECT_TRUE(Compare(late, model_late).agree());
  // 0.97 s: the destroy's time is when its op returned, the retry was queued while it ran, so
  // the kernel's retry may already have run: timing.
  std::vector<OpObs> just_before = k;
  just_before[1].t_s = 0.97;
  EXPECT_TRUE(Compare(just_before, m).agree());
  EXPECT_EQ(Compare(just_before, m).timing.size(), 1u);
  // Both well past it: a divergence again.
  late[1].t_s = 1.5;
  model_late[1].t_s = 1.5;
  EXPECT_EQ(Compare(late, model_late).divergences.size(), 1u);
}

// The netlink dump lists a destroyed pool until page_pool_release_retry frees it: listed by
// the model and gone from the kernel's dump 1.03 s after the destroy is the retry's timing
// (gen-000309 on 6.12.95); gone while both sides are before the retry is a divergence.
TEST(OracleCompareTest, ADestroyedPoolMissingFromTheDumpAcrossARetryIsTiming) {
  auto at = [](double t, const char* line, std::vector<int> listed) {
    OpObs o = Op(0, Pool(0));
    o.pools[0].state = "destroyed";
    o.t_s = t;
    o.line = line;
    o.netlink.emplace();
    for (int pool : listed) o.netlink->push_back({.pool = pool});
    return o;
  };
  const std::vector<OpObs> m = {at(0, "page_pool_destroy pool=1", {1, 2}),
                                at(0.3, "kfree_skb skb=1", {1, 2})};
  const std::vector<OpObs> k = {at(0, "page_pool_destroy pool=1", {1, 2}),
                                at(1.035, "kfree_skb skb=1", {2})};
  const Comparison c = Compare(k, m);
  EXPECT_TRUE(c.agree());
  ASSERT_EQ(c.timing.size(), 1u);
  EXPECT_EQ(c.timing[0].field, "pools listed");
  std::vector<OpObs> early = k;
  early[1].t_s = 0.4;
  EXPECT_FALSE(Compare(early, m).agree());
}

// net/core/page_pool.c writes page->dma_addr only in page_pool_dma_map.
TEST(OracleCompareTest, DmaOfPoolsWithoutDmaMapIsNotCompared) {
  OpObs k = Op(0, Pool(0));
  k.pools[0].held_dma_nonzero = 1;
  k.pages.push_back({.page = 1, .pool = 1, .refcount = 1, .dma_nonzero = true});
  OpObs m = Op(0, Pool(0));
  m.pages.push_back({.page = 1, .pool = 1, .refcount = 1, .dma_nonzero = false});
  EXPECT_FALSE(Compare({k}, {m}).agree());
  const Comparison c = Compare({k}, {m}, {.unmapped_pools = {1}});
  EXPECT_TRUE(c.agree());
  EXPECT_THAT(c.not_compared, Contains(Field(&NotCompared::field, "pool.held_dma_nonzero")));
}

// include/linux/mm_types.h: a free page's pp fields are the allocator's lru/index/private.
TEST(OracleCompareTest, FreedPagesCompareRefcountAndSignatureOnly) {
  OpObs k = Op(0, Pool(0));
  k.pages.push_back({.page = 1, .refcount = 0, .pp_ref = 5, .dma_nonzero = true});
  OpObs m = Op(0, Pool(0));
  m.pages.push_back({.page = 1, .refcount = 0, .pp_ref = 0, .dma_nonzero = false});
  const Comparison c = Compare({k}, {m});
  EXPECT_TRUE(c.agree());
  EXPECT_THAT(c.not_compared, Contains(Field(&NotCompared::field, "page.dma")));
  m.pages[0].signature = true;
  EXPECT_FALSE(Compare({k}, {m}).agree());
}

// An older kernel's observation lacks fields (p.napi before 6.5): listed, not compared.
TEST(OracleCompareTest, FieldsOnlyOneSideHasAreListedNotCompared) {
  PoolObs kernel_pool = Pool(0);
  PoolObs model_pool = Pool(0);
  model_pool.napi_set = true;
  const Comparison c = Compare({Op(0, kernel_pool)}, {Op(0, model_pool)});
  EXPECT_TRUE(c.agree());
  EXPECT_THAT(c.not_compared, Contains(Field(&NotCompared::field, "pool.napi_set")));
}

TEST(OracleCompareTest, RefusalOnOneSideIsADivergenceWithTheReason) {
  OpObs k = Op(0, Pool(0));
  OpObs m = k;
  m.refused = true;
  m.err = "pool 1 is destroyed";
  const Comparison c = Compare({k}, {m});
  ASSERT_FALSE(c.agree());
  EXPECT_EQ(c.divergences[0].field, "rc");
  EXPECT_EQ(c.divergences[0].model, "refused");
  EXPECT_THAT(c.divergences[0].note, HasSubstr("pool 1 is destroyed"));
}

}  // namespace
}  // namespace ppsim::oracle
