// Strict-mode IOVA reuse (docs/kernel/skb-and-iommu.md §4.3 rcache, §4.4 "IOVA already
// reallocated", §8 scenario 15; drivers/iommu/iova.c @ 0373c12d827a: free_iova_fast pushes the
// range into the freeing CPU's magazine, alloc_iova_fast pops the most recently freed one). A
// strict unmap frees IOVA I at once; the next map of the same size on the same CPU gets I for
// another page, and a device that kept a stale descriptor holding I writes into the new buffer:
// silent corruption of an unrelated mapping (PP004). A descriptor refreshed with the new page is
// fine, and a map on another CPU draws from that CPU's cache, not from the one I went to.
#include <gtest/gtest.h>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::kNapiCpu0;
using testing::kOtherCpu;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId pool = 0;
  PageRef old_page;  // mapped at IOVA I, then released by the pool
};

// Strict device; order-1 pool pages, so every allocation that finds the pool empty maps one page
// (order-0 refills map 64 at once). The page the driver posted at I is released on CPU 0: a
// subsystem holds a get_page when the driver returns it, so the pool unmaps and lets it go.
Story Start() {
  Story s;
  s.lab = MakeLab();
  s.dev = MustApply(*s.lab, op::AddDevice{.strict = 1}).device;
  s.pool = MustApply(*s.lab, op::BindDriver{.device = s.dev, .flags = 1, .order = 1}).pools.at(0);
  s.old_page = testing::Alloc(*s.lab, s.pool).at(0);
  EXPECT_NE(s.old_page.dma_addr, 0u);
  MustApply(*s.lab, op::GetPage{.page = s.old_page.page});
  testing::Put(*s.lab, s.old_page, kNapiCpu0);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt, 1u);
  EXPECT_EQ(testing::Page(*s.lab, s.old_page).dma_addr, 0u) << "unmapped; I is free again";
  return s;
}

void DeviceWrites(Story& s, DmaAddr iova, const PageRef& expect) {
  MustApply(*s.lab, op::DeviceDma{.device = s.dev, .iova = iova, .len = 8192,
                                  .expect = expect.page});
}

TEST(StrictIovaLifoReuse, StaleDescriptorWritesIntoTheNewMapping) {
  Story s = Start();
  const PageRef fresh = testing::Alloc(*s.lab, s.pool, 1, kNapiCpu0).at(0);
  EXPECT_NE(fresh.page.pfn, s.old_page.page.pfn) << "the old page is still held";
  EXPECT_EQ(fresh.dma_addr, s.old_page.dma_addr) << "LIFO: the IOVA just freed on CPU 0";

  DeviceWrites(s, s.old_page.dma_addr, s.old_page);
  const auto pp004 = testing::ViolationsOf(*s.lab, ViolationId::kPP004);
  ASSERT_EQ(pp004.size(), 1u);
  EXPECT_EQ(pp004[0]->pfn, fresh.page.pfn) << "the write landed in the new page";
  EXPECT_EQ(pp004[0]->pool, s.pool);
  EXPECT_EQ(s.lab->violation_total(), 1u) << "no IOMMU fault: the IOVA is mapped";
}

TEST(StrictIovaLifoReuse, RefreshedDescriptorIsFine) {
  Story s = Start();
  const PageRef fresh = testing::Alloc(*s.lab, s.pool, 1, kNapiCpu0).at(0);
  ASSERT_EQ(fresh.dma_addr, s.old_page.dma_addr);
  DeviceWrites(s, fresh.dma_addr, fresh);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  MustApply(*s.lab, op::PutPage{.page = s.old_page.page});
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.old_page)));
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

TEST(StrictIovaLifoReuse, MapOnAnotherCpuDoesNotGetTheFreedIova) {
  Story s = Start();
  const PageRef other = testing::Alloc(*s.lab, s.pool, 1, kOtherCpu).at(0);
  EXPECT_NE(other.page.pfn, s.old_page.page.pfn);
  EXPECT_NE(other.dma_addr, 0u);
  EXPECT_NE(other.dma_addr, s.old_page.dma_addr) << "I sits in CPU 0's magazine";
  // Nothing maps I now: the stale descriptor faults visibly instead of corrupting a buffer.
  DeviceWrites(s, s.old_page.dma_addr, s.old_page);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP004), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP003), 1u);
}

}  // namespace
}  // namespace ppsim::sim
