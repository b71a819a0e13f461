// `items`, Yunsheng Lin's item-block tracking, RFCv5 → v11 (docs/kernel/page-pool.md §5c; cover
// 20250307092356.638242-1-linyunsheng@huawei.com): 2*pool_size + PP_ALLOC_CACHE_SIZE + 512
// preallocated 16-byte items in page-sized blocks; destroy unmaps every MAPPED item, so a late
// return finds MAPPED clear and skips the unmap. Before the "unlimited inflight" patch,
// allocation fails once the items run out (item_fast_empty).
#include <algorithm>

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

InflightStory Start(uint32_t pool_size = 0) {
  return StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "items", pool_size);
}

// pool_size 256 → 2*256 + 128 + 512 = 1152 items: 1152 pages can be in flight (the story
// already holds one), and the next allocation returns NULL.
TEST(ItemsStrategyTest, AllocationFailsOnItemExhaustion) {
  InflightStory s = Start(/*pool_size=*/256);
  Lab& lab = *s.lab;
  const OpResult more = MustApply(lab, op::PagePoolAllocPages{.pool = s.pool, .count = 1151},
                                  kNapiCpu0);
  ASSERT_EQ(more.pages.size(), 1151u);
  EXPECT_EQ(s.Pool().inflight, 1152u);

  lab.TakeEvents();
  EXPECT_TRUE(MustApply(lab, op::PagePoolAllocPages{.pool = s.pool}, kNapiCpu0).pages.empty());
  EXPECT_EQ(s.Pool().inflight, 1152u);
  EXPECT_GT(s.Pool().costs.tracking_failures, 0u);
  const std::vector<Event> events = lab.TakeEvents();
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const Event& e) {
    return e.text.find("rx_pp_alloc_item_fast_empty") != std::string::npos;
  }));
  // Pages that found no item were unmapped and freed again: no leak, no signature left.
  EXPECT_EQ(s.Device().mapped, 1152u);
  EXPECT_EQ(lab.violation_total(), 0u);

  // A page back in the pool keeps its item, so the pool can hand it out again.
  MustApply(lab, op::NapiPpPutPage{.page = more.pages[0].page}, kNapiCpu0);
  EXPECT_EQ(MustApply(lab, op::PagePoolAllocPages{.pool = s.pool}, kNapiCpu0).pages.size(), 1u);
}

// §5c "Cost, memory: 16 B per item. With pool_size 1024 that is about 2,688 items ≈ 11
// pages per pool"; "Cost, time: +10–20 ns per page through the allocator".
TEST(ItemsStrategyTest, CostsItemBlocksAndNanosecondsPerPage) {
  InflightStory s = Start();
  const StrategyCosts costs = s.Pool().costs;
  EXPECT_EQ(costs.memory_bytes, 11 * kPageSize);
  // The story's first allocation brought a bulk of 64 pages into the pool.
  EXPECT_GE(costs.virtual_ns, 64 * 10);
  EXPECT_LE(costs.virtual_ns, 64 * 20);
}

// Destroy: synchronize_net, then every MAPPED item is unmapped — before dma-debug's unbind
// check, so nothing is pending (no PP005) — and the late return skips the unmap.
TEST(ItemsStrategyTest, DestroyUnmapsItemsAndLateReturnSkipsTheUnmap) {
  InflightStory s = Start();
  s.Unbind();
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 0u);
  EXPECT_EQ(s.Device().mapped, 0u);
  EXPECT_EQ(s.Pool().costs.destroy_unmaps, 1u);
  EXPECT_EQ(s.Pool().state, PoolState::kDetached);
  s.Remove();
  const uint64_t return_op = NextOpIndex(*s.lab);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 0u);
  EXPECT_FALSE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaUnmap, return_op));
  EXPECT_EQ(s.Pool().state, PoolState::kFreed);
}

}  // namespace
}  // namespace ppsim::sim
