// swiotlb bouncing and the skip-sync shortcut on a dma-direct device (server/sim/dma_api.cc,
// device.cc DmaSetMask; docs/kernel/skb-and-iommu.md §4.2). A pool page above a 32-bit DMA mask
// is mapped through a swiotlb slot, and the device's writes land in the slot until a sync for
// the CPU copies them into the page. Since f406c8e4b770 (6.11) a coherent device skips its
// syncs while dev->dma_skip_sync is set; the first bounce clears it, and a later
// dma_set_mask_and_coherent() sets it again with pages still bounced: their syncs then copy
// nothing and the CPU reads stale data (PP018). The kernel oracle's swiotlb probe saw exactly
// that on Debian's 6.12.95 and 7.3.4 (edu with dma_mask=0xffffffff, -m 5G); 6.1.176 has no
// flag and always syncs.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/sim/device.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::MustApply;

struct BounceLab {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId pool = 0;

  Device& device() { return *LabTestPeer::machine(*lab).FindDevice(dev); }
  PageRef Alloc() { return MustApply(*lab, op::PagePoolAllocPages{.pool = pool}).pages.at(0); }
  void DeviceWrites(const PageRef& p) {
    MustApply(*lab, op::DeviceDma{.device = dev, .iova = p.dma_addr, .write = true});
  }
  void SyncForCpu(const PageRef& p) {
    MustApply(*lab, op::DmaSyncForCpu{.page = p.page});
  }
  uint64_t Stale() const { return lab->violation_count(ViolationId::kPP018); }
};

// 8 GiB in two nodes: node 1 starts at 4 GiB, so its pages are above a 32-bit mask.
BounceLab Make(const char* profile, int32_t nid) {
  BounceLab b;
  b.lab = testing::MakeLab(LabConfig{.ram_bytes = uint64_t{8} << 30, .numa_nodes = 2,
                                     .iommu_model = IommuModel::kPassthrough,
                                     .profile = profile});
  b.dev = MustApply(*b.lab, op::AddDevice{.dma_mask_bits = 32}).device;
  MustApply(*b.lab, op::BindDriver{.device = b.dev, .flags = 0, .up = false});
  b.pool = MustApply(*b.lab, op::PagePoolCreate{.device = b.dev, .flags = PP_FLAG_DMA_MAP,
                                                .pool_size = 64, .nid = nid})
               .pool;
  return b;
}

TEST(SwiotlbTest, PagesAboveTheMaskBounceAndPagesBelowMapDirectly) {
  BounceLab high = Make("v6.12", 1);
  const PageRef p = high.Alloc();
  EXPECT_GE(p.page.pfn << kPageShift, uint64_t{4} << 30);
  EXPECT_LT(p.dma_addr, uint64_t{1} << 32) << "the device sees a swiotlb slot below its mask";
  EXPECT_NE(p.dma_addr, p.page.pfn << kPageShift);
  EXPECT_TRUE(high.device().dma_need_sync) << "the first bounce clears the skip-sync shortcut";

  BounceLab low = Make("v6.12", 0);
  const PageRef q = low.Alloc();
  EXPECT_EQ(q.dma_addr, q.page.pfn << kPageShift) << "below the mask: dma-direct, no bounce";
  EXPECT_FALSE(low.device().dma_need_sync) << "a coherent device skips its syncs";
}

TEST(SwiotlbTest, SyncForCpuCopiesTheDevicesDataOutOfTheSlot) {
  BounceLab b = Make("v6.12", 1);
  const PageRef p = b.Alloc();
  b.DeviceWrites(p);
  b.SyncForCpu(p);
  EXPECT_EQ(b.Stale(), 0u);
}

// The probe's sequence: bounce, dma_set_mask_and_coherent() again, device write, sync, read.
TEST(SwiotlbTest, DmaSetMaskWithPagesBouncedMakesTheSyncCopyNothingFrom6_11) {
  for (const char* profile : {"v6.12", "v7.3"}) {
    SCOPED_TRACE(profile);
    BounceLab b = Make(profile, 1);
    const PageRef p = b.Alloc();
    MustApply(*b.lab, op::DmaSetMask{.device = b.dev, .bits = 32});
    EXPECT_FALSE(b.device().dma_need_sync) << "reset with a page still bounced";
    b.DeviceWrites(p);
    b.SyncForCpu(p);
    ASSERT_EQ(b.Stale(), 1u);
    const Violation& v = *testing::ViolationsOf(*b.lab, ViolationId::kPP018)[0];
    EXPECT_EQ(v.pfn, p.page.pfn);
    EXPECT_NE(v.message.find("swiotlb slot"), std::string::npos) << v.message;

    // The next bounce raises the flag again, and from then on the syncs copy. (The first pool's
    // refill mapped 64 pages at once: a second pool's refill is the next swiotlb mapping.)
    const PoolId second = MustApply(*b.lab, op::PagePoolCreate{.device = b.dev,
                                                               .flags = PP_FLAG_DMA_MAP,
                                                               .pool_size = 64, .nid = 1})
                              .pool;
    EXPECT_FALSE(b.device().dma_need_sync);
    const PageRef q = MustApply(*b.lab, op::PagePoolAllocPages{.pool = second}).pages.at(0);
    EXPECT_TRUE(b.device().dma_need_sync);
    b.DeviceWrites(q);
    b.SyncForCpu(q);
    b.DeviceWrites(p);
    b.SyncForCpu(p);
    EXPECT_EQ(b.Stale(), 1u);
  }
}

TEST(SwiotlbTest, Before6_11EverySyncCopies) {
  BounceLab b = Make("v6.1", 1);
  const PageRef p = b.Alloc();
  MustApply(*b.lab, op::DmaSetMask{.device = b.dev, .bits = 32});
  b.DeviceWrites(p);
  b.SyncForCpu(p);
  EXPECT_EQ(b.Stale(), 0u);
}

TEST(SwiotlbTest, DmaSetMaskNeedsABoundDriverAndAValidWidth) {
  BounceLab b = Make("v6.12", 1);
  absl::StatusOr<OpResult> bad =
      b.lab->Apply(Op{testing::kProcessCpu0, op::DmaSetMask{.device = b.dev, .bits = 12}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("bits: 12"), std::string::npos);
  const DeviceId idle = MustApply(*b.lab, op::AddDevice{}).device;
  EXPECT_FALSE(
      b.lab->Apply(Op{testing::kProcessCpu0, op::DmaSetMask{.device = idle, .bits = 32}}).ok());
}

// Unmapping gives the slot back: the next bounced mapping may take it again.
TEST(SwiotlbTest, DestroyFreesTheSlots) {
  BounceLab b = Make("v6.12", 1);
  const PageRef p = b.Alloc();
  const uint64_t free_before = LabTestPeer::machine(*b.lab).memory.free_pages();
  MustApply(*b.lab, op::PagePoolPutPage{.page = p.page});
  MustApply(*b.lab, op::PagePoolDestroy{.pool = b.pool});
  EXPECT_GT(LabTestPeer::machine(*b.lab).memory.free_pages(), free_before);
  EXPECT_EQ(b.device().domain.mapped_count(), 0u);
}

}  // namespace
}  // namespace ppsim::sim
