// B4: GRO merging a pp skb into a held non-pp skb. Fixed by 7d2c89b32587 "skb: Do mix page pool
// and page referenced frags in GRO" (6.2). docs/kernel/skb-and-iommu.md §2.1 B4 steps 1–3, §8
// scenario 4, §2 table row skb_gro_receive.
//
// The held skb `p` has pp_recycle = 0 (built from ordinary pages, as mt76 A-MSDU did); the
// arriving skb `s` of the same flow is pp. skb_gro_receive moves s's frags into p with no
// reference changes (step 2); freeing p with pp_recycle = 0 put_page()s the pp page (step 3):
// its pp reference is never returned, the page reaches rc 0 with the signature set ("page_pool
// leak", PP011) and the pool's inflight never drains. Since the fix the merge is refused
// (-ETOOMANYREFS) when p->pp_recycle != skb->pp_recycle.
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Outcome {
  uint64_t merged = 0;
  uint64_t pp011 = 0;
  uint64_t total = 0;
  bool pp011_on_pp_page = false;
  bool pp_page_back_in_pool = false;
  int64_t outside = 0;             // pool pages handed out and never given back
  uint64_t inflight_after_destroy = 0;  // page_pool_destroy emptied cache and ring
};

Outcome RunStory(const std::string& profile, const std::string& gro_refuses_pp_mix = "") {
  LabConfig cfg;
  cfg.profile = profile;
  if (!gro_refuses_pp_mix.empty()) {
    cfg.profile_switches = {{"gro_refuses_pp_mix", gro_refuses_pp_mix}};
  }
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  // Step 1: held p (pp_recycle 0, ordinary page) and arriving s (pp) of the same flow.
  const PageRef plain = MustApply(*lab, op::AllocPage{}).pages.at(0);
  const uint32_t p = MustApply(*lab, op::SkbBuild{.frags = {{.page = plain.page}},
                                                  .recycle = false},
                               kNapiCpu0).skbs.at(0);
  const PageRef q = testing::Alloc(*lab, nic.pool).at(0);
  const uint32_t s =
      MustApply(*lab, op::SkbBuild{.frags = {{.page = q.page}}}, kNapiCpu0).skbs.at(0);
  // Step 2: skb_gro_receive(p, s).
  Outcome out;
  out.merged = MustApply(*lab, op::SkbGroReceive{.p = p, .skb = s}, kNapiCpu0).value;
  // Step 3: the merged skb is freed. A merged s was consumed by GRO (NAPI_GRO_FREE); a refused
  // one goes up the stack on its own and is freed there.
  MustApply(*lab, op::KfreeSkb{.skb = p}, kNapiCpu0);
  if (out.merged == 0) MustApply(*lab, op::KfreeSkb{.skb = s}, kNapiCpu0);
  out.pp011 = lab->violation_count(ViolationId::kPP011);
  out.total = lab->violation_total();
  for (const Violation* v : testing::ViolationsOf(*lab, ViolationId::kPP011)) {
    out.pp011_on_pp_page = v->pfn == q.page.pfn;
  }
  const FrameState st = testing::Page(*lab, q).state;
  out.pp_page_back_in_pool = st == FrameState::kPoolCache || st == FrameState::kPoolRing;
  out.outside = testing::PagesOutsidePool(testing::Pool(*lab, nic.pool));
  // The driver goes away: page_pool_destroy empties cache and ring; only pages still out
  // keep the pool's inflight up.
  MustApply(*lab, op::UnbindDriver{.device = nic.dev});
  out.inflight_after_destroy = testing::Pool(*lab, nic.pool).inflight;
  return out;
}

TEST(GroMixedPp7d2c89b32587, MergingPpFragsIntoANonPpSkbLeaksThePage) {
  const Outcome o = RunStory("v6.1.0");  // gro_refuses_pp_mix false
  EXPECT_EQ(o.merged, 1u);
  EXPECT_EQ(o.pp011, 1u);
  EXPECT_TRUE(o.pp011_on_pp_page);
  EXPECT_EQ(o.total, 1u);
  EXPECT_FALSE(o.pp_page_back_in_pool);
  EXPECT_EQ(o.outside, 1);
  EXPECT_EQ(o.inflight_after_destroy, 1u) << "the pool's inflight never drains";
}

TEST(GroMixedPp7d2c89b32587, TheSwitchAloneBringsTheBugBack) {
  const Outcome o = RunStory("v6.8", "false");
  EXPECT_EQ(o.merged, 1u);
  EXPECT_EQ(o.pp011, 1u);
  EXPECT_EQ(o.inflight_after_destroy, 1u);
}

TEST(GroMixedPp7d2c89b32587, TheFixRefusesTheMergeAndBothFreeCleanly) {
  for (const char* profile : {"v6.8", "v6.15"}) {
    SCOPED_TRACE(profile);
    const Outcome o = RunStory(profile);
    EXPECT_EQ(o.merged, 0u) << "-ETOOMANYREFS: pp_recycle differs";
    EXPECT_EQ(o.total, 0u);
    EXPECT_TRUE(o.pp_page_back_in_pool);
    EXPECT_EQ(o.outside, 0);
    EXPECT_EQ(o.inflight_after_destroy, 0u);
  }
}

}  // namespace
}  // namespace ppsim::sim
