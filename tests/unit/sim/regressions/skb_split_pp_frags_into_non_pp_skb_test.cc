// B7a: skb_split moves page_pool frags into a fresh, non-pp skb (docs/kernel/skb-and-iommu.md §2
// skb_split row, §2.1 B7 "split", §8 scenario 7; Yunsheng Lin's 2021 argument,
// https://lore.kernel.org/r/20210922094131.15625-6-linyunsheng@huawei.com). Whole frags move
// without a reference change and skb1 starts with pp_recycle = 0, so their pp references are
// later dropped with put_page: the pool never sees them return and the page reaches the
// allocator with its signature set ("page_pool leak", PP011). A frag cut in the middle gets a
// page reference in skb1 (__skb_frag_ref), which a non-pp skb drops correctly. The same split on
// pages that never belonged to a pool is legitimate (TCP's tcp_fragment on TX skbs).
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Split {
  std::unique_ptr<Lab> lab;
  PoolId pool = 0;
  std::vector<PageRef> pages;  // frags 0..2
  uint32_t skb = 0, skb1 = 0;
};

// Three frags on three pages (pool pages when `pp`, else alloc_page pages with recycle=false),
// then skb_split(skb, at 1, cut).
Split BuildAndSplit(bool pp, uint32_t cut) {
  Split s;
  s.lab = MakeLab();
  if (pp) {
    const testing::Nic nic = BindNic(*s.lab, {.flags = 1});
    s.pool = nic.pool;
    s.pages = testing::Alloc(*s.lab, nic.pool, 3);
  } else {
    for (int i = 0; i < 3; ++i) s.pages.push_back(MustApply(*s.lab, op::AllocPage{}).pages.at(0));
  }
  EXPECT_EQ(s.pages.size(), 3u);
  op::SkbBuild build{.recycle = pp};
  for (const PageRef& p : s.pages) build.frags.push_back({.page = p.page});
  s.skb = MustApply(*s.lab, build, kNapiCpu0).skbs.at(0);
  s.skb1 = MustApply(*s.lab, op::SkbSplit{.skb = s.skb, .at = 1, .cut = cut}, kNapiCpu0).skbs.at(0);
  return s;
}

void FreeBoth(Split& s) {
  MustApply(*s.lab, op::KfreeSkb{.skb = s.skb}, kNapiCpu0);
  MustApply(*s.lab, op::KfreeSkb{.skb = s.skb1}, kNapiCpu0);
}

std::set<Pfn> Pp011Pfns(const Lab& lab) {
  std::set<Pfn> out;
  for (const Violation* v : testing::ViolationsOf(lab, ViolationId::kPP011)) {
    if (v->pfn) out.insert(*v->pfn);
  }
  return out;
}

TEST(SkbSplitPpFragsIntoNonPpSkb, WholeMovedFragsLeakTheirPpReferences) {
  Split s = BuildAndSplit(/*pp=*/true, /*cut=*/0);
  const Machine& m = LabTestPeer::machine(*s.lab);
  EXPECT_FALSE(m.skbs.at(s.skb1).pp_recycle) << "skb1 is fresh: pp_recycle 0";
  EXPECT_TRUE(m.skbs.at(s.skb).pp_recycle);
  EXPECT_EQ(m.shinfos.at(m.skbs.at(s.skb1).shinfo).frags.size(), 2u);
  EXPECT_EQ(testing::Page(*s.lab, s.pages[1]).refcount, 1) << "moved, no reference taken";
  EXPECT_EQ(s.lab->violation_total(), 0u) << "the split itself reports nothing";

  FreeBoth(s);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP011), 2u);
  EXPECT_EQ(Pp011Pfns(*s.lab), (std::set<Pfn>{s.pages[1].page.pfn, s.pages[2].page.pfn}));
  EXPECT_EQ(s.lab->violation_total(), 2u);
  // Frag 0 stayed in the pp skb and was recycled; the moved pages never came back: bad_page()
  // took them out of circulation with the signature still set and no reference left.
  EXPECT_EQ(testing::Page(*s.lab, s.pages[0]).state, FrameState::kPoolCache);
  for (int i : {1, 2}) {
    const PageInfo moved = testing::Page(*s.lab, s.pages[i]);
    EXPECT_TRUE(moved.is_pp) << "frag " << i;
    EXPECT_EQ(moved.refcount, 0) << "frag " << i;
    EXPECT_FALSE(testing::InBuddy(moved)) << "frag " << i;
  }
}

TEST(SkbSplitPpFragsIntoNonPpSkb, CutFragIsAPageRefOnlyTheWholeFragLeaks) {
  Split s = BuildAndSplit(/*pp=*/true, /*cut=*/100);
  const PageInfo cut = testing::Page(*s.lab, s.pages[1]);
  EXPECT_EQ(cut.refcount, 2) << "the second half of the cut frag is a page reference in skb1";
  EXPECT_EQ(cut.pp_ref_count, 1) << "the first half keeps the pp reference in skb";
  const Machine& m = LabTestPeer::machine(*s.lab);
  const auto& frags1 = m.shinfos.at(m.skbs.at(s.skb1).shinfo).frags;
  ASSERT_EQ(frags1.size(), 2u);
  EXPECT_EQ(frags1[0].ref, FragRef::kPage);
  EXPECT_EQ(frags1[1].ref, FragRef::kPp) << "frag 2 moved with its pp reference";

  FreeBoth(s);
  // skb's pp-last of the cut page sees rc 2: released (R1); skb1's put_page then frees it.
  EXPECT_EQ(Pp011Pfns(*s.lab), (std::set<Pfn>{s.pages[2].page.pfn}));
  EXPECT_EQ(s.lab->violation_total(), 1u);
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.pages[1])));
  EXPECT_EQ(testing::Pool(*s.lab, s.pool).recycle.released_refcnt, 1u);
}

TEST(SkbSplitPpFragsIntoNonPpSkb, NonPpSkbSplitFreesEveryPage) {
  for (uint32_t cut : {0u, 100u}) {
    SCOPED_TRACE(cut);
    Split s = BuildAndSplit(/*pp=*/false, cut);
    EXPECT_FALSE(LabTestPeer::machine(*s.lab).skbs.at(s.skb).pp_recycle);
    FreeBoth(s);
    EXPECT_EQ(s.lab->violation_total(), 0u);
    for (const PageRef& p : s.pages) {
      EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, p))) << "pfn " << p.page.pfn;
    }
  }
}

}  // namespace
}  // namespace ppsim::sim
