// B3: skb_try_coalesce against a concurrent release of the other clone. Fixed by 0646dc31ca88
// "skbuff: Fix a race between coalescing and releasing SKBs" (6.3-rc, CVE-2023-53186).
// docs/kernel/skb-and-iommu.md §2.1 B3 steps 1–5, §8 scenario 3, §2 table row skb_try_coalesce.
//
// After 1effe8ca4e34 a non-pp `to` may take a pp `from` when `from` is cloned (page refs are
// taken for its frags), but skb_cloned(from) was read twice: once to allow the mix and once to
// decide whether to take references. If the other clone is freed in between (steps 2–4), the
// second read says "not cloned": `from`'s frags are handed over without references, and the
// non-pp `to` later put_page()s a pp page on which it holds no page reference (step 5). The fix
// requires to->pp_recycle == from->pp_recycle, so the mix is refused whatever the race does.
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
  uint64_t coalesced = 0;
  uint64_t pp011 = 0;
  uint64_t pp009 = 0;
  uint64_t total = 0;
  bool pp011_on_q = false;
  bool pp011_history_has_ref_mismatch = false;
  bool q_back_in_pool = false;
  int64_t outside = 0;  // pool pages handed out and never given back
};

// `rule` empty = the profile's coalesce_rule.
Outcome RunStory(const std::string& profile, const std::string& rule, bool race) {
  LabConfig cfg;
  cfg.profile = profile;
  if (!rule.empty()) cfg.profile_switches = {{"coalesce_rule", rule}};
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  // Step 1: `to` is non-pp (ordinary pages); `from` is pp and cloned (dataref 2).
  const PageRef plain = MustApply(*lab, op::AllocPage{}).pages.at(0);
  const uint32_t to = MustApply(*lab, op::SkbBuild{.frags = {{.page = plain.page}},
                                                   .recycle = false},
                                kNapiCpu0).skbs.at(0);
  const PageRef q = testing::Alloc(*lab, nic.pool).at(0);
  const uint32_t from =
      MustApply(*lab, op::SkbBuild{.frags = {{.page = q.page}}}, kNapiCpu0).skbs.at(0);
  const uint32_t clone = MustApply(*lab, op::SkbClone{.skb = from}, kNapiCpu0).skbs.at(0);
  // Steps 2–4: CPU0 coalesces; with `race`, CPU1 frees the other clone between the two
  // skb_cloned(from) reads.
  Outcome out;
  out.coalesced = MustApply(*lab, op::SkbTryCoalesce{.to = to, .from = from,
                                                     .racing_clone = race ? clone : 0u},
                            kNapiCpu0).value;
  // Step 5: everything is freed (the racing clone already was, by CPU1, if the coalesce ran).
  MustApply(*lab, op::KfreeSkb{.skb = to}, kNapiCpu0);
  MustApply(*lab, op::KfreeSkb{.skb = from}, kNapiCpu0);
  if (!(race && out.coalesced)) MustApply(*lab, op::KfreeSkb{.skb = clone}, kNapiCpu0);
  out.pp011 = lab->violation_count(ViolationId::kPP011);
  out.pp009 = lab->violation_count(ViolationId::kPP009);
  out.total = lab->violation_total();
  for (const Violation* v : testing::ViolationsOf(*lab, ViolationId::kPP011)) {
    out.pp011_on_q = v->pfn == q.page.pfn;
    for (const PageEvent& e : v->history) {
      if (e.kind == PageEventKind::kRefMismatch) out.pp011_history_has_ref_mismatch = true;
    }
  }
  const FrameState st = testing::Page(*lab, q).state;
  out.q_back_in_pool = st == FrameState::kPoolCache || st == FrameState::kPoolRing;
  out.outside = testing::PagesOutsidePool(testing::Pool(*lab, nic.pool));
  return out;
}

// §2.1 B3 step 5 says `to` put_page()s pages it holds no reference on, with "rc underflow /
// double free / use-after-free" as the possible ends depending on who else holds the page.
// Here Q's only ordinary reference is the pool's own (rc = 1; the skb's reference is a pp
// reference), so the stray put_page takes rc 1 → 0 with the pp signature still set: mm's
// free-path check reports "page_pool leak" (§6, §7 "leak") — PP011 — and Q's pp reference is
// never returned, so the pool's inflight stays raised. PP009 (refcount:-1) would need a second
// stray put_page on the same page, which this minimal story does not have.
TEST(SkbTryCoalesceVsCloneFree0646dc31ca88, RacingCloneFreeSkipsTheRefsAndLeaksThePpPage) {
  const Outcome o = RunStory("v6.1.0", "", /*race=*/true);  // cloned-from-non-pp-to
  EXPECT_EQ(o.coalesced, 1u) << "the first skb_cloned(from) read allowed the mix";
  EXPECT_EQ(o.pp011, 1u);
  EXPECT_TRUE(o.pp011_on_q);
  EXPECT_TRUE(o.pp011_history_has_ref_mismatch)
      << "`to` dropped a page reference for the pp reference that moved in";
  EXPECT_EQ(o.pp009, 0u);
  EXPECT_EQ(o.total, 1u);
  EXPECT_FALSE(o.q_back_in_pool);
  EXPECT_EQ(o.outside, 1) << "the pool never gets Q back: inflight stuck";
}

TEST(SkbTryCoalesceVsCloneFree0646dc31ca88, WithoutTheRaceTheMixTakesPageRefsAndIsClean) {
  const Outcome o = RunStory("v6.1.0", "", /*race=*/false);
  EXPECT_EQ(o.coalesced, 1u) << "a cloned pp `from` may go into a non-pp `to` on v6.1.0";
  EXPECT_EQ(o.total, 0u);
  EXPECT_TRUE(o.q_back_in_pool) << "the last clone's pp reference recycled Q";
  EXPECT_EQ(o.outside, 0);
}

TEST(SkbTryCoalesceVsCloneFree0646dc31ca88, TheFixRefusesTheMixAndNothingIsRaised) {
  const struct {
    const char* profile;
    const char* rule;
  } kFixed[] = {{"v6.1.0", "same-no-cloned-pp"}, {"v6.8", ""}, {"v6.15", ""}};
  for (const auto& c : kFixed) {
    SCOPED_TRACE(std::string(c.profile) + " " + c.rule);
    const Outcome o = RunStory(c.profile, c.rule, /*race=*/true);
    EXPECT_EQ(o.coalesced, 0u);
    EXPECT_EQ(o.total, 0u);
    EXPECT_TRUE(o.q_back_in_pool);
    EXPECT_EQ(o.outside, 0);
  }
}

}  // namespace
}  // namespace ppsim::sim
