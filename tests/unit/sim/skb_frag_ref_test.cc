// Tests for SkbFragRef (server/sim/skb.cc) on fragment pages: __skb_frag_ref takes a page
// reference (get_page, include/linux/skbuff_ref.h; docs/kernel/skb-and-iommu.md §2 table, §1.4: the
// pp-ref variant a580ea994fd3 was reverted by 173e7622ccb3), and the op reports which kind it
// took so that the holder drops the same kind. Dropping the get_page with napi_pp_put_page
// gives back a pp_ref_count nobody took; on a fragment page (BIAS_MAX bias,
// docs/kernel/page-pool.md §3.2) page_pool_drain_frag then underflows (WARN_ON(ret < 0) in
// page_pool_unref_netmem, §3.3). That was the chaos generator's PP009 with alloc_frag weighted
// (chaos_world.cc, Observe).
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::BindNic;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::MustApply;
using ::ppsim::sim::testing::Nic;
using ::ppsim::sim::testing::Page;
using ::ppsim::sim::testing::ViolationsOf;

PageRef Frag(Lab& lab, PoolId pool, uint32_t size) {
  std::vector<PageRef> got =
      MustApply(lab, op::PagePoolAllocFrag{.pool = pool, .size = size}, kNapiCpu0).pages;
  EXPECT_EQ(got.size(), 1u) << "frag of " << size;
  return got.empty() ? PageRef{} : got[0];
}

uint32_t BuildSkb(Lab& lab, const PageRef& frag, uint32_t len) {
  const OpResult r = MustApply(
      lab, op::SkbBuild{.frags = {{.page = frag.page, .offset = frag.offset, .len = len}},
                        .recycle = true},
      kNapiCpu0);
  EXPECT_EQ(r.skbs.size(), 1u);
  return r.skbs.empty() ? 0 : r.skbs[0];
}

// Two 2048-byte fragments of one page, each in a pp skb; skb_frag_ref on the first. Then the
// extra reference is dropped (put_page or, wrongly, napi_pp_put_page), both skbs are freed and
// a third fragment forces page_pool_drain_frag on the page.
struct Story {
  std::unique_ptr<Lab> lab;
  PageRef page;
  OpResult frag_ref;
};

Story RunStory(bool release_as_pp) {
  Story s{.lab = MakeLab()};
  Lab& lab = *s.lab;
  const Nic nic = BindNic(lab);
  const PageRef a = Frag(lab, nic.pool, 2048);
  const PageRef b = Frag(lab, nic.pool, 2048);
  EXPECT_EQ(a.page.pfn, b.page.pfn) << "both fragments come from one page";
  s.page = a;
  const uint32_t skb_a = BuildSkb(lab, a, 2048);
  const uint32_t skb_b = BuildSkb(lab, b, 2048);
  s.frag_ref = MustApply(lab, op::SkbFragRef{.skb = skb_a, .frag = 0}, kNapiCpu0);
  EXPECT_EQ(s.frag_ref.pages.size(), 1u);
  const PageHandle extra = s.frag_ref.pages.empty() ? PageHandle{} : s.frag_ref.pages[0].page;
  if (release_as_pp) {
    MustApply(lab, op::NapiPpPutPage{.page = extra}, kNapiCpu0);
  } else {
    MustApply(lab, op::PutPage{.page = extra}, kNapiCpu0);
  }
  MustApply(lab, op::KfreeSkb{.skb = skb_a}, kNapiCpu0);
  MustApply(lab, op::KfreeSkb{.skb = skb_b}, kNapiCpu0);
  (void)Frag(lab, nic.pool, 2048);  // does not fit: drain the bias of the old frag page
  return s;
}

TEST(SkbFragRefTest, FragRefOnAFragmentPageIsAPageReferenceAndSaysSo) {
  auto lab = MakeLab();
  const Nic nic = BindNic(*lab);
  const PageRef a = Frag(*lab, nic.pool, 2048);
  const uint32_t skb = BuildSkb(*lab, a, 2048);
  const PageInfo before = Page(*lab, a);
  const OpResult r = MustApply(*lab, op::SkbFragRef{.skb = skb, .frag = 0}, kNapiCpu0);
  const PageInfo after = Page(*lab, a);
  EXPECT_EQ(r.value, 0u) << "a page reference, not a pp reference";
  EXPECT_EQ(after.refcount, before.refcount + 1) << "get_page";
  EXPECT_EQ(after.pp_ref_count, before.pp_ref_count) << "pp_ref_count untouched";
}

TEST(SkbFragRefTest, UnderA580ea994fd3ItIsAPpReferenceAndSaysSo) {
  LabConfig config;
  config.profile_switches.emplace_back("frag_ref_takes_pp_ref", "true");
  auto lab = MakeLab(config);
  const Nic nic = BindNic(*lab);
  const PageRef a = Frag(*lab, nic.pool, 2048);
  const uint32_t skb = BuildSkb(*lab, a, 2048);
  const PageInfo before = Page(*lab, a);
  const OpResult r = MustApply(*lab, op::SkbFragRef{.skb = skb, .frag = 0}, kNapiCpu0);
  const PageInfo after = Page(*lab, a);
  EXPECT_EQ(r.value, 1u) << "a pp reference";
  EXPECT_EQ(after.refcount, before.refcount);
  EXPECT_EQ(after.pp_ref_count, before.pp_ref_count + 1);
}

// Released with the kind it took: every fragment returned, the drained page is reused as the
// next frag page (§3.2), no violation.
TEST(SkbFragRefTest, PutPageOfTheFragRefKeepsFragmentAccountingExact) {
  const Story s = RunStory(/*release_as_pp=*/false);
  EXPECT_EQ(s.frag_ref.value, 0u);
  EXPECT_TRUE(s.lab->violations().empty());
  const PageInfo p = Page(*s.lab, s.page);
  EXPECT_TRUE(p.is_pp) << "reused as the new frag page";
  EXPECT_EQ(p.refcount, 1);
}

// The mismatch: one pp reference too many is dropped, so the drain of BIAS_MAX − frag_users
// goes below zero. The model's PP009 is the kernel's WARN in page_pool_unref_netmem.
TEST(SkbFragRefTest, NapiPpPutPageOfTheFragRefUnderflowsTheDrain) {
  const Story s = RunStory(/*release_as_pp=*/true);
  EXPECT_EQ(ViolationsOf(*s.lab, ViolationId::kPP009).size(), 1u);
}

// include/net/page_pool/helpers.h:page_pool_unref_netmem (v6.12): an underflow is a
// WARN_ON(ret < 0) and nothing more; only a count that reaches exactly 0 is reset to 1. The
// drained page keeps pp_ref_count -1, so it is neither reused as the frag page nor returned.
TEST(SkbFragRefTest, AnUnderflowedPpRefCountStaysNegative) {
  const Story s = RunStory(/*release_as_pp=*/true);
  const PageInfo p = Page(*s.lab, s.page);
  EXPECT_EQ(p.pp_ref_count, -1);
  EXPECT_EQ(p.state, FrameState::kPoolOut) << "no put of it was the last one";
}

}  // namespace
}  // namespace ppsim::sim
