// B5: skb_segment → skb_clone → pskb_trim → pskb_expand_head loses pp_recycle between taking a
// reference and dropping it. Introduced in net-next by a580ea994fd3 "net: mirror skb frag
// ref/unref helpers" (__skb_frag_ref takes a pp reference on a pp skb) and fixed by its revert
// 173e7622ccb3 before any release. docs/kernel/skb-and-iommu.md §2.1 B5 steps 1–5, §8 scenario 5,
// §1.3, §2 table rows skb_segment, ___pskb_trim, pskb_expand_head.
//
// A GRO'ed pp skb carries a frag_list member with two pp frags (step 1). skb_segment clones
// the member (step 2) and trims the clone: the clone is shared, so pskb_expand_head takes
// references on both frags — pp references under a580ea994fd3 because pp_recycle is still 1 —
// and then skb_release_data clears the clone's pp_recycle (step 3, §1.3). The trim drops the
// tail frag with skb_frag_unref, now a put_page (step 4), and the segment's later free
// put_page()s the other: each page's pp reference is leaked and a page reference over-dropped
// (step 5), so both pages reach rc 0 with the signature set: "page_pool leak" (PP011). With the
// revert, __skb_frag_ref is a plain get_page, the reference taken is the one dropped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

// MSS-sized frags: 16 whole pages would reach gro_max_size (64 KiB), and skb_gro_receive
// refuses that merge with -E2BIG (net/core/gro.c) instead of chaining.
op::SkbBuild PpSkb(const std::vector<PageRef>& pages) {
  op::SkbBuild b;
  for (const PageRef& r : pages) b.frags.push_back({.page = r.page, .len = 1448});
  return b;
}

constexpr uint32_t kHeadFrags = 16;  // 16 + 2 > MAX_SKB_FRAGS: the member is chained

struct Outcome {
  uint64_t chained = 0;
  size_t segments = 0;
  uint64_t pp011 = 0;
  uint64_t total = 0;
  std::vector<Pfn> pp011_pages;
  std::vector<Pfn> member_pages;
  int64_t outside = 0;  // pool pages handed out and never given back
};

Outcome RunStory(bool frag_ref_takes_pp_ref) {
  LabConfig cfg;
  cfg.profile = "v6.8";
  cfg.profile_switches = {{"frag_ref_takes_pp_ref", frag_ref_takes_pp_ref ? "true" : "false"}};
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  const std::vector<PageRef> pages = testing::Alloc(*lab, nic.pool, kHeadFrags + 2);
  EXPECT_EQ(pages.size(), kHeadFrags + 2);
  // Step 1: a GRO'ed pp skb whose frags are full; the next pp skb of the flow (two frags) is
  // chained on its frag_list by skb_gro_receive.
  const std::vector<PageRef> head_pages(pages.begin(), pages.begin() + kHeadFrags);
  const std::vector<PageRef> member_pages(pages.begin() + kHeadFrags, pages.end());
  const uint32_t head = MustApply(*lab, PpSkb(head_pages), kNapiCpu0).skbs.at(0);
  const uint32_t member = MustApply(*lab, PpSkb(member_pages), kNapiCpu0).skbs.at(0);
  Outcome out;
  out.chained = MustApply(*lab, op::SkbGroReceive{.p = head, .skb = member}, kNapiCpu0).value;
  for (const PageRef& r : member_pages) out.member_pages.push_back(r.page.pfn);
  // Steps 2–4: GSO (here on the forwarding path) segments it.
  const std::vector<uint32_t> segs =
      MustApply(*lab, op::SkbSegment{.skb = head}, kNapiCpu0).skbs;
  out.segments = segs.size();
  // Step 5: the segments are sent and freed, then the original skb (and its frag_list).
  for (uint32_t s : segs) MustApply(*lab, op::KfreeSkb{.skb = s}, kNapiCpu0);
  MustApply(*lab, op::KfreeSkb{.skb = head}, kNapiCpu0);
  out.pp011 = lab->violation_count(ViolationId::kPP011);
  out.total = lab->violation_total();
  for (const Violation* v : testing::ViolationsOf(*lab, ViolationId::kPP011)) {
    if (v->pfn) out.pp011_pages.push_back(*v->pfn);
  }
  out.outside = testing::PagesOutsidePool(testing::Pool(*lab, nic.pool));
  return out;
}

TEST(SkbSegmentCloneTrimA580ea994fd3, SetupChainsTheMemberAndSegmentsEveryPiece) {
  const Outcome o = RunStory(false);
  EXPECT_EQ(o.chained, 1u);
  EXPECT_EQ(o.segments, kHeadFrags + 1) << "one per head frag, one trimmed member clone";
}

TEST(SkbSegmentCloneTrimA580ea994fd3, PpRefOnFragRefLeaksBothMemberPages) {
  const Outcome o = RunStory(/*frag_ref_takes_pp_ref=*/true);
  // One "page_pool leak" per member page: the trimmed tail frag (step 4) and the frag the
  // trimmed clone keeps (put_page'd when that segment is freed). Nothing on the head's frags:
  // the leak is the frag_list branch's (§2 table row skb_segment).
  EXPECT_EQ(o.pp011, 2u);
  EXPECT_EQ(o.total, 2u);
  EXPECT_THAT(o.pp011_pages, ::testing::UnorderedElementsAreArray(o.member_pages));
  EXPECT_EQ(o.outside, 2) << "the pool never gets the member pages back";
}

TEST(SkbSegmentCloneTrimA580ea994fd3, TheRevertTakesPageRefsAndEverythingReturns) {
  const Outcome o = RunStory(/*frag_ref_takes_pp_ref=*/false);
  EXPECT_EQ(o.total, 0u);
  EXPECT_EQ(o.outside, 0);
}

}  // namespace
}  // namespace ppsim::sim
