// B7b: skb_shift shifts part of a page_pool frag into a pp tgt with a *page* reference, which tgt
// later drops as a *pp* reference (docs/kernel/skb-and-iommu.md §2 skb_shift row, §2.1 B7 "shift",
// §8 scenario 8; the mismatch Mina Almasry fixed in a580ea994fd3, reverted by 173e7622ccb3).
// With a fragmented pool page whose other slice is still on the RX ring this ends like B2
// (1effe8ca4e34): the pp references run out while an extra page reference is held, so the pool
// releases the page early (DMA unmap) and the device's write into the remaining slot hits an
// unmapped IOVA — with a strict IOMMU, a DMAR fault (§4.4, PP003).
#include <gtest/gtest.h>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId pool = 0;
  PageRef first, slot;  // the two halves of the fragmented pool page
  uint32_t src = 0, tgt = 0;
};

// A strict-IOMMU NIC; pool page P split in two 2048-byte fragments: `first` goes up the stack in
// pp skb src, `slot` stays on the RX ring (the device will write into it). A third fragment moves
// the pool on to a new frag page, so P's bias is drained and pp_ref_count(P) = 2. tgt is a pp skb
// on another pool page.
Story Start() {
  Story s;
  s.lab = MakeLab();
  s.dev = MustApply(*s.lab, op::AddDevice{.strict = 1}).device;
  s.pool = MustApply(*s.lab, op::BindDriver{.device = s.dev, .flags = 1}).pools.at(0);
  // The story runs in the driver's RX path: inside queue 0's NAPI poll on CPU 0.
  MustApply(*s.lab, op::NapiSchedule{.device = s.dev, .queue = 0}, kNapiCpu0);
  auto frag = [&] {
    return MustApply(*s.lab, op::PagePoolAllocFrag{.pool = s.pool, .size = 2048}, kNapiCpu0)
        .pages.at(0);
  };
  s.first = frag();
  s.slot = frag();
  const PageRef next = frag();
  EXPECT_EQ(s.first.page.pfn, s.slot.page.pfn);
  EXPECT_EQ(s.slot.offset, 2048u);
  EXPECT_NE(next.page.pfn, s.first.page.pfn);
  EXPECT_EQ(testing::Page(*s.lab, s.first).pp_ref_count, 2);
  const PageRef other = testing::Alloc(*s.lab, s.pool).at(0);
  s.src = MustApply(*s.lab,
                    op::SkbBuild{.frags = {{.page = s.first.page, .offset = 0, .len = 2048}}},
                    kNapiCpu0).skbs.at(0);
  s.tgt = MustApply(*s.lab, op::SkbBuild{.frags = {{.page = other.page}}}, kNapiCpu0).skbs.at(0);
  return s;
}

// The device completes a receive into the slot still on the ring.
void DeviceWritesSlot(Story& s) {
  MustApply(*s.lab, op::DeviceDma{.device = s.dev, .iova = s.slot.dma_addr + s.slot.offset,
                                  .len = 2048, .expect = s.slot.page});
}

TEST(SkbShiftPartialPpFrag, PageRefDroppedAsPpRefReleasesThePageUnderTheRxSlot) {
  Story s = Start();
  ASSERT_EQ(MustApply(*s.lab, op::SkbShift{.tgt = s.tgt, .skb = s.src, .count = 0, .partial = 1024},
                      kNapiCpu0).value, 1u);
  const PageInfo shifted = testing::Page(*s.lab, s.first);
  EXPECT_EQ(shifted.refcount, 2) << "__skb_frag_ref: a page reference into tgt";
  EXPECT_EQ(shifted.pp_ref_count, 2) << "no pp reference was taken";

  MustApply(*s.lab, op::KfreeSkb{.skb = s.tgt}, kNapiCpu0);
  MustApply(*s.lab, op::KfreeSkb{.skb = s.src}, kNapiCpu0);
  // tgt dropped a pp reference it never had: src's drop was pp-last while rc was 2, so the pool
  // let go of P (unmap, signature cleared) although the RX slot still uses it.
  const PageInfo released = testing::Page(*s.lab, s.first);
  EXPECT_FALSE(released.is_pp);
  EXPECT_EQ(released.dma_addr, 0u);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt, 1u);
  EXPECT_EQ(s.lab->violation_total(), 0u) << "nothing is visible yet";

  DeviceWritesSlot(s);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP003), 1u);
  EXPECT_EQ(s.lab->violation_total(), 1u);
}

TEST(SkbShiftPartialPpFrag, WithoutTheShiftTheSlotStaysMapped) {
  Story s = Start();
  MustApply(*s.lab, op::KfreeSkb{.skb = s.tgt}, kNapiCpu0);
  MustApply(*s.lab, op::KfreeSkb{.skb = s.src}, kNapiCpu0);
  const PageInfo p = testing::Page(*s.lab, s.first);
  EXPECT_TRUE(p.is_pp);
  EXPECT_EQ(p.pp_ref_count, 1) << "the RX slot's pp reference";
  EXPECT_EQ(p.dma_addr, s.slot.dma_addr);

  DeviceWritesSlot(s);
  EXPECT_EQ(s.lab->violation_total(), 0u);
  // The driver then passes the slot up and it comes back: P is recycled, not released.
  MustApply(*s.lab, op::NapiPpPutPage{.page = s.slot.page}, kNapiCpu0);
  EXPECT_EQ(testing::Page(*s.lab, s.first).state, FrameState::kPoolCache);
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt, 0u);
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

}  // namespace
}  // namespace ppsim::sim
