// B2: coalescing a cloned pp skb took a page reference where the pp `to` later drops a pp
// reference. Fixed by 1effe8ca4e34 "skbuff: fix coalescing for page_pool fragment recycling"
// (5.18-rc, CVE-2022-49093). docs/kernel/skb-and-iommu.md §2.1 B2 steps 1–8, §8 scenario 2,
// §2 table row skb_try_coalesce.
//
// The story (§2.1 B2): P2 is split into two RX fragments, BD2 and BD3 (ppc(P2) = 2, rc = 1).
// BD2 becomes SKB2, which is cloned (SKB3); TCP coalesces SKB3 into the pp SKB1. SKB3 is cloned,
// so its frag keeps its descriptor and `to` gets get_page(P2) (rc = 2) — a page reference
// that SKB1, a pp skb, will drop as a pp reference. Freeing SKB3, SKB2 and SKB1 drops ppc(P2)
// to 0 while rc = 2, so the pool releases P2 (DMA unmap) although BD3 is still on the RX ring:
// the device's write into BD3 hits an unmapped IOVA (strict IOMMU: a fault, PP003). With the
// fix (v6.1.0+: cloned-from-non-pp-to and later rules) a pp `to` refuses a cloned pp `from`.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

PageRef Frag(Lab& lab, PoolId pool) {
  return MustApply(lab, op::PagePoolAllocFrag{.pool = pool, .size = 2048}, kNapiCpu0).pages.at(0);
}

// A pp skb (skb_mark_for_recycle) over one RX buffer: `len` bytes at `offset` (0 = to the end).
uint32_t RxSkb(Lab& lab, const PageRef& buf, uint32_t offset = 0, uint32_t len = 0) {
  return MustApply(lab, op::SkbBuild{.frags = {{.page = buf.page, .offset = offset, .len = len}}},
                   kNapiCpu0).skbs.at(0);
}

struct Outcome {
  uint64_t coalesced = 0;
  int64_t ppc_p2_before = 0;
  bool p2_released_before_dma = false;  // P2 left the pool while BD3 was still on the ring
  uint64_t pp003 = 0;
  uint64_t total = 0;
  bool pp003_on_p2 = false;
  bool pp003_history_has_ref_mismatch = false;
  int64_t outside_at_end = 0;
};

Outcome RunStory(const std::string& profile) {
  LabConfig cfg;
  cfg.profile = profile.substr(0, profile.find('+'));
  if (profile.find('+') != std::string::npos) {
    cfg.profile_switches = {{"coalesce_rule", profile.substr(profile.find('+') + 1)}};
  }
  cfg.iommu_strict = true;  // the unmapped IOVA faults at once (§4.4)
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  Outcome out;
  // Step 1: BD1 uses P1; BD2 and BD3 use the two halves of P2.
  const PageRef p1 = testing::Alloc(*lab, nic.pool).at(0);
  const PageRef bd2 = Frag(*lab, nic.pool);
  const PageRef bd3 = Frag(*lab, nic.pool);
  EXPECT_EQ(bd3.page.pfn, bd2.page.pfn);
  EXPECT_EQ(bd3.offset, 2048u);
  // The driver refills the next slot (BD4): P2 is full, so page_pool_alloc_frag drains its
  // unused bias (page_pool_drain_frag) and starts a new page. P2 now counts its two fragments.
  const PageRef bd4 = Frag(*lab, nic.pool);
  EXPECT_NE(bd4.page.pfn, bd2.page.pfn);
  out.ppc_p2_before = testing::Page(*lab, bd2).pp_ref_count;
  // Step 2: BD1 → SKB1 (a pp skb queued on a TCP socket).
  const uint32_t skb1 = RxSkb(*lab, p1);
  // Step 3: BD2 → SKB2, cloned on the ip_rcv path: SKB3.
  const uint32_t skb2 = RxSkb(*lab, bd2, 0, 2048);
  const uint32_t skb3 = MustApply(*lab, op::SkbClone{.skb = skb2}, kNapiCpu0).skbs.at(0);
  // Step 4: tcp_try_coalesce → skb_try_coalesce(SKB1, SKB3).
  out.coalesced =
      MustApply(*lab, op::SkbTryCoalesce{.to = skb1, .from = skb3}, kNapiCpu0).value;
  // Steps 5–7: SKB3, SKB2, SKB1 freed.
  for (uint32_t skb : {skb3, skb2, skb1}) MustApply(*lab, op::KfreeSkb{.skb = skb}, kNapiCpu0);
  out.p2_released_before_dma = !testing::Page(*lab, bd2).is_pp;
  // Step 8: the device completes a receive into BD3's half of P2.
  MustApply(*lab, op::DeviceDma{.device = nic.dev, .iova = bd3.dma_addr + 2048, .len = 2048,
                                .write = true, .expect = bd3.page});
  out.pp003 = lab->violation_count(ViolationId::kPP003);
  for (const Violation* v : testing::ViolationsOf(*lab, ViolationId::kPP003)) {
    out.pp003_on_p2 = v->pfn == bd2.page.pfn;
    for (const PageEvent& e : v->history) {
      if (e.kind == PageEventKind::kRefMismatch) out.pp003_history_has_ref_mismatch = true;
    }
  }
  // Without the bug the driver later hands BD3 up the stack and the skb is freed.
  if (out.pp003 == 0) {
    const uint32_t skb4 = RxSkb(*lab, bd3, 2048, 2048);
    MustApply(*lab, op::KfreeSkb{.skb = skb4}, kNapiCpu0);
  }
  out.total = lab->violation_total();
  out.outside_at_end = testing::PagesOutsidePool(testing::Pool(*lab, nic.pool));
  return out;
}

TEST(SkbTryCoalesceClonedPpFrag1effe8ca4e34, SetupSplitsP2IntoTwoPpFragments) {
  EXPECT_EQ(RunStory("v5.14").ppc_p2_before, 2);
  EXPECT_EQ(RunStory("v6.1.0").ppc_p2_before, 2);
}

TEST(SkbTryCoalesceClonedPpFrag1effe8ca4e34, AnyMixReleasesP2EarlyAndTheDeviceFaults) {
  const Outcome o = RunStory("v5.14");  // coalesce_rule any-mix
  EXPECT_EQ(o.coalesced, 1u);
  EXPECT_TRUE(o.p2_released_before_dma) << "the pool released P2 while BD3 was on the ring";
  EXPECT_EQ(o.pp003, 1u);
  EXPECT_EQ(o.total, 1u) << "the IOMMU fault is the only report";
  EXPECT_TRUE(o.pp003_on_p2);
  EXPECT_TRUE(o.pp003_history_has_ref_mismatch)
      << "SKB1 dropped a pp reference for the page reference the coalesce took";
}

TEST(SkbTryCoalesceClonedPpFrag1effe8ca4e34, TheFixRefusesAClonedPpFromAndNothingIsRaised) {
  for (const char* profile : {"v6.1.0", "v6.1.0+same-no-cloned-pp"}) {
    SCOPED_TRACE(profile);
    const Outcome o = RunStory(profile);
    EXPECT_EQ(o.coalesced, 0u) << "a pp `to` takes no cloned pp `from`";
    EXPECT_FALSE(o.p2_released_before_dma);
    EXPECT_EQ(o.total, 0u);
    EXPECT_EQ(o.outside_at_end, 1) << "all back but BD4's page, still on the RX ring";
  }
}

// f7dc3248dcfb (6.8) allows the merge again, taking pp references on the cloned pp frags
// (skb_pp_frag_ref, §2 table): the reference taken is the one SKB1 drops.
TEST(SkbTryCoalesceClonedPpFrag1effe8ca4e34, SamePpFragRefMergesWithPpRefsAndNothingIsRaised) {
  for (const char* profile : {"v6.8", "v6.15"}) {
    SCOPED_TRACE(profile);
    const Outcome o = RunStory(profile);
    EXPECT_EQ(o.coalesced, 1u);
    EXPECT_FALSE(o.p2_released_before_dma);
    EXPECT_EQ(o.total, 0u);
    EXPECT_EQ(o.outside_at_end, 1) << "all back but BD4's page, still on the RX ring";
  }
}

}  // namespace
}  // namespace ppsim::sim
