// The lazy-IOTLB window (docs/kernel/skb-and-iommu.md §4.3 flush queue, §4.4, §5.3 (c), §8 scenario
// 14). In lazy mode (IOMMU_DOMAIN_DMA_FQ, Intel's default) dma_unmap clears the PTE but the IOTLB
// is only invalidated by the domain-wide flush 10 ms later (IOVA_FQ_TIMEOUT); the physical page
// is not held back meanwhile. A device that still uses the old IOVA reaches the page after it was
// freed and reused — silently (PP004). Once the flush ran the same access faults (PP003).
// Untrusted devices are forced strict because of exactly this window (82c3cefb9f16, Lu Baolu,
// https://lore.kernel.org/r/20210225061454.2864009-1-baolu.lu@linux.intel.com): there the
// access right after unmap is already a visible fault.
#include <gtest/gtest.h>

#include "server/sim/iommu.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PageRef page;   // the pool page, with the IOVA the device's stale descriptor still holds
  PageRef reuse;  // what the page allocator handed out after the page was freed
};

// A pool page goes up in a pp skb; a subsystem holds a get_page, so at pp-last the pool releases
// the page (DMA unmap). The holder's put_page then frees it and another subsystem reallocates it.
Story UnmapFreeReuse(int32_t strict) {
  Story s;
  s.lab = MakeLab();
  s.dev = MustApply(*s.lab, op::AddDevice{.strict = strict}).device;
  const PoolId pool = MustApply(*s.lab, op::BindDriver{.device = s.dev, .flags = 1}).pools.at(0);
  s.page = testing::Alloc(*s.lab, pool).at(0);
  EXPECT_NE(s.page.dma_addr, 0u);
  const uint32_t skb =
      MustApply(*s.lab, op::SkbBuild{.frags = {{.page = s.page.page}}}, kNapiCpu0).skbs.at(0);
  MustApply(*s.lab, op::GetPage{.page = s.page.page});
  MustApply(*s.lab, op::KfreeSkb{.skb = skb}, kNapiCpu0);
  EXPECT_EQ(testing::Pool(*s.lab, pool).recycle.released_refcnt, 1u);
  EXPECT_EQ(testing::Page(*s.lab, s.page).dma_addr, 0u) << "unmapped at release";
  MustApply(*s.lab, op::PutPage{.page = s.page.page});
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.page)));
  s.reuse = MustApply(*s.lab, op::AllocPage{}).pages.at(0);
  return s;
}

void DeviceWritesOldIova(Story& s) {
  MustApply(*s.lab, op::DeviceDma{.device = s.dev, .iova = s.page.dma_addr});
}

TEST(LazyIotlbWindow, StaleIotlbReachesTheReusedPageSilentlyUntilTheFlush) {
  Story s = UnmapFreeReuse(/*strict=*/-1);  // the lab's default: intel, lazy
  EXPECT_EQ(s.reuse.page.pfn, s.page.page.pfn) << "the allocator reuses the freed page";
  EXPECT_EQ(s.lab->violation_total(), 0u);

  testing::Advance(*s.lab, IommuDomain::kFlushTimeout - kMillisecond);
  const uint64_t next = testing::NextOpIndex(*s.lab);
  DeviceWritesOldIova(s);
  const auto pp004 = testing::ViolationsOf(*s.lab, ViolationId::kPP004);
  ASSERT_EQ(pp004.size(), 1u);
  EXPECT_EQ(pp004[0]->pfn, s.page.page.pfn) << "the write landed in the reused page";
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP003), 0u) << "no DMAR fault";
  EXPECT_EQ(testing::CountEvents(s.lab->TakeEvents(), EventKind::kKernelLog, 0, "DMAR"), 0);
  EXPECT_TRUE(testing::PageEventSince(*s.lab, s.reuse.page.pfn, PageEventKind::kDeviceDma, next));

  testing::Advance(*s.lab, 2 * kMillisecond);  // past the 10 ms flush-queue timeout
  DeviceWritesOldIova(s);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP003), 1u) << "now the IOMMU blocks it";
  EXPECT_EQ(testing::CountEvents(s.lab->TakeEvents(), EventKind::kKernelLog, 0, "DMAR"), 1);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP004), 1u);
  EXPECT_EQ(s.lab->violation_total(), 2u);
}

TEST(LazyIotlbWindow, StrictDeviceFaultsRightAfterUnmap) {
  Story s = UnmapFreeReuse(/*strict=*/1);
  (void)s.lab->TakeEvents();
  DeviceWritesOldIova(s);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP003), 1u);
  EXPECT_EQ(testing::CountEvents(s.lab->TakeEvents(), EventKind::kKernelLog, 0, "DMAR"), 1);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP004), 0u);
  EXPECT_EQ(s.lab->violation_total(), 1u);
  const uint64_t next = testing::NextOpIndex(*s.lab);
  DeviceWritesOldIova(s);
  EXPECT_FALSE(testing::PageEventSince(*s.lab, s.reuse.page.pfn, PageEventKind::kDeviceDma, next))
      << "the blocked write never reaches the page";
}

}  // namespace
}  // namespace ppsim::sim
