// The skb model (server/sim/skb.h, skb.cc, skb_ops.cc, skb_merge.cc) on today's rules (v6.15):
// docs/kernel/skb-and-iommu.md §1.1 (build, release), §1.3 (only the last clone recycles), §2 table
// (clone, pskb_expand_head, trim, split, segment, GRO, coalesce, frag ref), §3.2 (a subsystem's
// own page reference), §3.1 (the pool releases a page someone else still references); docs/design.md
// §3.8. Op rejections follow docs/design.md §3.11's last paragraph: meaningless requests change
// nothing.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Alloc;
using testing::BindNic;
using testing::InBuddy;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;
using testing::Page;

struct Fixture {
  std::unique_ptr<Lab> lab = MakeLab(LabConfig{.profile = "v6.15"});
  PoolId pool = BindNic(*lab, {.flags = 1}).pool;

  std::vector<PageRef> Pages(uint32_t n) { return Alloc(*lab, pool, n); }
  uint32_t Build(const std::vector<PageRef>& frags, bool recycle = true, PageHandle head = {}) {
    op::SkbBuild b{.head = head, .recycle = recycle};
    for (const PageRef& p : frags) b.frags.push_back({.page = p.page});
    return MustApply(*lab, b, kNapiCpu0).skbs.at(0);
  }
  // Frags of `len` bytes each: 17 whole pages would reach gro_max_size (-E2BIG) in a GRO.
  uint32_t BuildSized(const std::vector<PageRef>& frags, uint32_t len) {
    op::SkbBuild b;
    for (const PageRef& p : frags) b.frags.push_back({.page = p.page, .len = len});
    return MustApply(*lab, b, kNapiCpu0).skbs.at(0);
  }
  // A GRO'ed skb with 16 frags and, chained on its frag_list (16 + 2 > MAX_SKB_FRAGS), a
  // second skb of two frags: pages p[0..17].
  std::pair<uint32_t, uint32_t> ChainOnFragList(const std::vector<PageRef>& p) {
    const uint32_t held = BuildSized({p.begin(), p.begin() + 16}, 1000);
    const uint32_t member = BuildSized({p[16], p[17]}, 1000);
    EXPECT_EQ(Value(op::SkbGroReceive{.p = held, .skb = member}), 1u);
    return {held, member};
  }
  uint32_t Op1(OpBody body) { return MustApply(*lab, std::move(body), kNapiCpu0).skbs.at(0); }
  uint64_t Value(OpBody body) { return MustApply(*lab, std::move(body), kNapiCpu0).value; }
  void Free(uint32_t skb) { MustApply(*lab, op::KfreeSkb{.skb = skb}, kNapiCpu0); }
  bool Live(uint32_t skb) const { return LabTestPeer::machine(*lab).skbs.contains(skb); }
  const Skb& S(uint32_t skb) const { return LabTestPeer::machine(*lab).skbs.at(skb); }
  const SkbShared& Sh(uint32_t skb) const {
    return LabTestPeer::machine(*lab).shinfos.at(S(skb).shinfo);
  }
  PageInfo P(const PageRef& r) const { return Page(*lab, r); }
  PoolInfo Pool() const { return testing::Pool(*lab, pool); }
};

TEST(SkbTest, BuildMovesTheDriversPpReferencesIn) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(2);
  const uint32_t a = f.Build(p);
  EXPECT_TRUE(f.S(a).pp_recycle);
  EXPECT_EQ(f.Sh(a).dataref, 1u);
  ASSERT_EQ(f.Sh(a).frags.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(f.Sh(a).frags[i].pfn, p[i].page.pfn);
    EXPECT_EQ(f.Sh(a).frags[i].ref, FragRef::kPp);
    EXPECT_EQ(f.P(p[i]).refcount, 1);
    EXPECT_EQ(f.P(p[i]).pp_ref_count, 1) << "no new reference: the driver's moved in";
  }
}

TEST(SkbTest, CloneSharesTheDataAndCopiesPpRecycle) {
  Fixture f;
  const PageRef p = f.Pages(1)[0];
  const uint32_t a = f.Build({p});
  const uint32_t b = f.Op1(op::SkbClone{.skb = a});
  EXPECT_NE(a, b);
  EXPECT_EQ(f.S(a).shinfo, f.S(b).shinfo);
  EXPECT_EQ(f.Sh(a).dataref, 2u);
  EXPECT_TRUE(f.S(b).pp_recycle);
  EXPECT_EQ(f.P(p).refcount, 1);
  EXPECT_EQ(f.P(p).pp_ref_count, 1);
}

// §1.3: freeing a clone only drops a dataref; the last skb out releases the frags.
TEST(SkbTest, OnlyTheLastCloneReleasesTheFrags) {
  Fixture f;
  const PageRef p = f.Pages(1)[0];
  const uint32_t a = f.Build({p});
  const uint32_t b = f.Op1(op::SkbClone{.skb = a});
  const uint32_t c = f.Op1(op::SkbClone{.skb = a});
  const uint64_t cached = f.Pool().recycle.cached;
  f.Free(a);
  f.Free(c);
  EXPECT_EQ(f.Sh(b).dataref, 1u);
  EXPECT_EQ(f.P(p).state, FrameState::kPoolOut) << "kfree of a clone leaves the pages";
  EXPECT_EQ(f.P(p).refcount, 1);
  EXPECT_EQ(f.Pool().recycle.cached, cached);
  f.Free(b);
  EXPECT_EQ(f.P(p).state, FrameState::kPoolCache);
  EXPECT_EQ(f.Pool().recycle.cached, cached + 1);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

// §2 table: on a clone, a private shinfo, a page ref per frag, pp_recycle cleared.
TEST(SkbTest, ExpandHeadOnACloneTakesPageRefsAndClearsPpRecycle) {
  Fixture f;
  const PageRef p = f.Pages(1)[0];
  const uint32_t a = f.Build({p});
  const uint32_t b = f.Op1(op::SkbClone{.skb = a});
  MustApply(*f.lab, op::PskbExpandHead{.skb = b}, kNapiCpu0);
  EXPECT_NE(f.S(a).shinfo, f.S(b).shinfo);
  EXPECT_EQ(f.Sh(a).dataref, 1u);
  EXPECT_EQ(f.Sh(b).dataref, 1u);
  EXPECT_FALSE(f.S(b).pp_recycle);
  EXPECT_TRUE(f.S(a).pp_recycle);
  ASSERT_EQ(f.Sh(b).frags.size(), 1u);
  EXPECT_EQ(f.Sh(b).frags[0].ref, FragRef::kPage);
  EXPECT_EQ(f.P(p).refcount, 2);
  EXPECT_EQ(f.P(p).pp_ref_count, 1);
  // §3.1: pp-last with _refcount 2 → released; the expanded skb frees an ordinary page.
  const uint64_t released = f.Pool().recycle.released_refcnt;
  f.Free(a);
  EXPECT_EQ(f.Pool().recycle.released_refcnt, released + 1);
  EXPECT_FALSE(f.P(p).is_pp);
  EXPECT_EQ(f.P(p).refcount, 1);
  f.Free(b);
  EXPECT_TRUE(InBuddy(f.P(p)));
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(SkbTest, ExpandHeadOnANonCloneFreesAPageHead) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(2);  // p[0] the head, p[1] a frag
  const uint32_t a = f.Build({p[1]}, true, p[0].page);
  EXPECT_TRUE(f.Sh(a).head_frag);
  const uint32_t shinfo = f.S(a).shinfo;
  MustApply(*f.lab, op::PskbExpandHead{.skb = a}, kNapiCpu0);
  EXPECT_FALSE(f.Sh(a).head_frag) << "the new head is slab memory";
  EXPECT_EQ(f.S(a).shinfo, shinfo) << "the shinfo moves with no reference change";
  EXPECT_TRUE(f.S(a).pp_recycle);
  EXPECT_EQ(f.P(p[0]).state, FrameState::kPoolCache) << "skb_free_head recycled the pp head";
  EXPECT_EQ(f.P(p[1]).state, FrameState::kPoolOut);
  EXPECT_EQ(f.Sh(a).frags.at(0).ref, FragRef::kPp);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(SkbTest, TrimReleasesTheDroppedFrags) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(3);
  const uint32_t a = f.Build(p);
  MustApply(*f.lab, op::PskbTrim{.skb = a, .keep_frags = 1}, kNapiCpu0);
  ASSERT_EQ(f.Sh(a).frags.size(), 1u);
  EXPECT_EQ(f.Sh(a).frags[0].pfn, p[0].page.pfn);
  EXPECT_EQ(f.P(p[0]).state, FrameState::kPoolOut);
  EXPECT_EQ(f.P(p[1]).state, FrameState::kPoolCache);
  EXPECT_EQ(f.P(p[2]).state, FrameState::kPoolCache);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(SkbTest, SplitMovesWholeFragsAndRefsACutOne) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(3);
  const uint32_t a = f.Build(p);
  const uint32_t b = f.Op1(op::SkbSplit{.skb = a, .at = 1, .cut = 100});
  EXPECT_FALSE(f.S(b).pp_recycle) << "skb1 is fresh (§2.1 B7)";
  ASSERT_EQ(f.Sh(a).frags.size(), 2u);
  EXPECT_EQ(f.Sh(a).frags[1].len, 100u);
  ASSERT_EQ(f.Sh(b).frags.size(), 2u);
  EXPECT_EQ(f.Sh(b).frags[0].pfn, p[1].page.pfn);
  EXPECT_EQ(f.Sh(b).frags[0].offset, 100u);
  EXPECT_EQ(f.Sh(b).frags[0].ref, FragRef::kPage);
  EXPECT_EQ(f.Sh(b).frags[1].ref, FragRef::kPp) << "moved, reference and all";
  EXPECT_EQ(f.P(p[1]).refcount, 2);
  EXPECT_EQ(f.P(p[2]).refcount, 1);
}

TEST(SkbTest, SegmentGivesEachSegmentAPageRef) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(2);
  const uint32_t a = f.Build(p);
  const std::vector<uint32_t> segs = MustApply(*f.lab, op::SkbSegment{.skb = a}, kNapiCpu0).skbs;
  ASSERT_EQ(segs.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(f.S(segs[i]).pp_recycle);
    ASSERT_EQ(f.Sh(segs[i]).frags.size(), 1u);
    EXPECT_EQ(f.Sh(segs[i]).frags[0].pfn, p[i].page.pfn);
    EXPECT_EQ(f.Sh(segs[i]).frags[0].ref, FragRef::kPage);
    EXPECT_EQ(f.P(p[i]).refcount, 2);
  }
  EXPECT_EQ(f.Sh(a).frags.size(), 2u) << "the GSO skb keeps its frags";
}

TEST(SkbTest, GroMovesFragsAndRefusesAPpMix) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(3);
  const uint32_t held = f.Build({p[0]});
  const uint32_t same = f.Build({p[1]});
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = held, .skb = same}), 1u);
  EXPECT_EQ(f.Sh(held).frags.size(), 2u);
  EXPECT_FALSE(f.Live(same)) << "freed with NAPI_GRO_FREE";
  EXPECT_EQ(f.P(p[1]).state, FrameState::kPoolOut) << "its frag moved, not released";
  const uint32_t non_pp = f.Build({p[2]}, /*recycle=*/false);
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = held, .skb = non_pp}), 0u) << "7d2c89b32587";
  EXPECT_EQ(f.Sh(held).frags.size(), 2u);
  EXPECT_TRUE(f.Live(non_pp));
}

// net/core/gro.c skb_gro_receive: the frags go to NAPI_GRO_CB(p)->last, and MAX_SKB_FRAGS
// bounds lp's frags, not p's. Once an skb that did not fit is chained on p's frag_list it is
// last, and the next packet's frags join it (the kernel oracle's gen-000135 on 6.12.95).
TEST(SkbTest, GroMergesIntoTheLastChainedSkb) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(19);
  const auto [held, big] = f.ChainOnFragList(p);
  ASSERT_EQ(f.Sh(held).frag_list.size(), 1u) << "16 + 2 > MAX_SKB_FRAGS: chained";
  EXPECT_TRUE(f.Live(big));
  const uint32_t next = f.BuildSized({p[18]}, 1000);
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = held, .skb = next}), 1u);
  EXPECT_FALSE(f.Live(next)) << "its frag fit in lp: NAPI_GRO_FREE";
  EXPECT_EQ(f.Sh(held).frag_list.size(), 1u) << "not chained a second time";
  EXPECT_EQ(f.Sh(held).frags.size(), 16u);
  EXPECT_EQ(f.Sh(big).frags.size(), 3u) << "the frag joined lp, the chained skb";
  EXPECT_EQ(f.S(held).len, 19000u);
  EXPECT_EQ(f.S(big).len, 3000u) << "lp->len grows too";
}

// skb_gro_receive refuses with -E2BIG a merge that reaches the netdev's gro_max_size
// (GRO_LEGACY_MAX_SIZE, 65536, by default): nothing moves, both skbs stay.
TEST(SkbTest, GroRefusesAMergeReachingGroMaxSize) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(17);
  const uint32_t held = f.Build({p.begin(), p.begin() + 15});  // 15 x 4096 = 61440 bytes
  const uint32_t more = f.Build({p[15], p[16]});              // + 8192 >= 65536
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = held, .skb = more}), 0u);
  EXPECT_TRUE(f.Live(more));
  EXPECT_EQ(f.Sh(held).frags.size(), 15u);
  EXPECT_EQ(f.S(held).len, 61440u);
}

TEST(SkbTest, CoalesceMovesRefsOrTakesPpRefsForACloneAndRefusesAMix) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(4);
  const uint32_t to = f.Build({p[0]});
  const uint32_t from = f.Build({p[1]});
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = to, .from = from}), 1u);
  EXPECT_EQ(f.Sh(to).frags.size(), 2u);
  EXPECT_TRUE(f.Sh(from).frags.empty()) << "not cloned: the references moved";
  EXPECT_EQ(f.P(p[1]).pp_ref_count, 1);
  const uint32_t cloned = f.Build({p[2]});
  f.Op1(op::SkbClone{.skb = cloned});
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = to, .from = cloned}), 1u);
  EXPECT_EQ(f.P(p[2]).pp_ref_count, 2) << "skb_pp_frag_ref (f7dc3248dcfb)";
  EXPECT_EQ(f.Sh(to).frags.back().ref, FragRef::kPp);
  const uint32_t non_pp = f.Build({p[3]}, /*recycle=*/false);
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = to, .from = non_pp}), 0u) << "0646dc31ca88";
}

// §3.2: the subsystem's reference outlives the skb; the pool lets go of the page (§3.1) and
// the subsystem's put_page frees it. Without that put the page is never freed.
TEST(SkbTest, PullPageGivesASubsystemReferenceThatMustBePut) {
  Fixture f;
  const PageRef p = f.Pages(1)[0];
  const uint32_t a = f.Build({p});
  const std::vector<PageRef> got = MustApply(*f.lab, op::SkbPullPage{.skb = a}, kNapiCpu0).pages;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].page.pfn, p.page.pfn);
  EXPECT_EQ(f.P(p).refcount, 2);
  f.Free(a);
  EXPECT_FALSE(f.P(p).is_pp) << "released at pp-last: _refcount was 2";
  EXPECT_EQ(f.P(p).refcount, 1);
  EXPECT_FALSE(InBuddy(f.P(p))) << "still the subsystem's";
  MustApply(*f.lab, op::PutPage{.page = got[0].page});
  EXPECT_TRUE(InBuddy(f.P(p)));
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

// Rejections name the field and the value and change nothing.
absl::Status Rejected(Lab& lab, OpBody body) {
  const uint64_t digest = lab.digest();
  const size_t ops = lab.trace().size();
  absl::StatusOr<OpResult> r = lab.Apply(Op{kNapiCpu0, std::move(body)});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lab.digest(), digest);
  EXPECT_EQ(lab.trace().size(), ops);
  return r.status();
}

TEST(SkbTest, RejectsAnUnknownSkb) {
  Fixture f;
  const absl::Status s = Rejected(*f.lab, op::KfreeSkb{.skb = 9});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "skb: skb 9 does not exist");
}

TEST(SkbTest, RejectsAFreedSkbNamingTheOpThatFreedIt) {
  Fixture f;
  const uint32_t a = f.Build(f.Pages(1));
  const uint64_t freed_by = testing::NextOpIndex(*f.lab);
  f.Free(a);
  const absl::Status s = Rejected(*f.lab, op::SkbClone{.skb = a});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(absl::StrCat("freed by op #", freed_by)), absl::string_view::npos)
      << s.message();
}

TEST(SkbTest, RejectsAnSkbAStackHolderKeeps) {
  Fixture f;
  const uint32_t a = f.Build(f.Pages(1));
  MustApply(*f.lab, op::StackHold{.skb = a, .holder = "socket"});
  const absl::Status s = Rejected(*f.lab, op::KfreeSkb{.skb = a});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("held by stack holder"), absl::string_view::npos) << s.message();
  EXPECT_TRUE(f.Live(a));
}

TEST(SkbTest, RejectsMoreThanMaxSkbFrags) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(MAX_SKB_FRAGS + 1);
  ASSERT_EQ(p.size(), 18u);
  op::SkbBuild b;
  for (const PageRef& r : p) b.frags.push_back({.page = r.page});
  const absl::Status s = Rejected(*f.lab, b);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("frags: 18"), absl::string_view::npos) << s.message();
  b.frags.pop_back();
  EXPECT_EQ(f.Sh(MustApply(*f.lab, b, kNapiCpu0).skbs.at(0)).frags.size(), 17u);
}

// ppsim bug (issue 21, found by a random op fuzzer): GRO of an skb into its own clone made the
// model append a frag vector to itself and read freed memory (SIGSEGV in Memory::Touch). In the
// kernel, GRO merges a freshly received skb into one held on the GRO list
// (net/core/gro.c:skb_gro_receive); an skb and its clone share one skb_shared_info, so there is
// nothing to move. The op is refused and changes nothing.
TEST(SkbTest, GroOfAnSkbIntoItsOwnCloneIsRefused) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(2);
  f.Build({}, true, p[0].page);  // skb 1: a page head only
  const uint32_t skb = f.Build({p[1]});
  const uint32_t c1 = f.Op1(op::SkbClone{.skb = skb});
  const uint32_t c2 = f.Op1(op::SkbClone{.skb = skb});
  const uint64_t digest = f.lab->digest();
  for (const auto& [held, other] : {std::pair{skb, c2}, std::pair{c1, c2}, std::pair{c2, skb}}) {
    const absl::Status s = Rejected(*f.lab, op::SkbGroReceive{.p = held, .skb = other});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), absl::StrCat("skb: skb ", other, " and p (skb ", held,
                                        ") are clones sharing one data area"));
  }
  EXPECT_EQ(f.lab->digest(), digest);
  EXPECT_EQ(f.Sh(skb).frags.size(), 1u);
  EXPECT_EQ(f.Sh(skb).dataref, 3u);
}

// The eight ops of issue 21 as a client sent them: a NIC, 256 pages, skb 1 with a page head,
// skb 2 with one frag at offset 4095, skbs 3 and 4 cloned from skb 2, then GRO of skb 4 into
// skb 2. The landed model crashed the daemon (SIGSEGV in Memory::Touch); now the last op is
// refused naming the field, and the lab goes on: both skbs and the clone still free cleanly.
TEST(SkbTest, TheEightOpsOfIssue21AreRefusedAndTheLabGoesOn) {
  std::unique_ptr<Lab> lab = MakeLab();
  const testing::Nic nic = BindNic(*lab);
  const std::vector<PageRef> pages = Alloc(*lab, nic.pool, 256);
  ASSERT_EQ(pages.size(), 256u);
  auto skb = [&](OpBody body) { return MustApply(*lab, std::move(body), kNapiCpu0).skbs.at(0); };
  const uint32_t s1 = skb(op::SkbBuild{.head = pages[0].page});
  const uint32_t s2 = skb(op::SkbBuild{.frags = {{.page = pages[1].page, .offset = 4095}}});
  const uint32_t c1 = skb(op::SkbClone{.skb = s2});
  const uint32_t c2 = skb(op::SkbClone{.skb = s2});
  ASSERT_EQ(std::vector<uint32_t>({s1, s2, c1, c2}), std::vector<uint32_t>({1, 2, 3, 4}));
  const absl::Status s = Rejected(*lab, op::SkbGroReceive{.p = s2, .skb = c2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "skb: skb 4 and p (skb 2) are clones sharing one data area");
  for (uint32_t id : {c2, c1, s2, s1}) MustApply(*lab, op::KfreeSkb{.skb = id}, kNapiCpu0);
  EXPECT_EQ(LabTestPeer::machine(*lab).skbs.size(), 0u);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// An skb that GRO chains on another's frag_list (too many frags to merge) belongs to that skb:
// it is released with it, and an op naming it on its own is refused (a second free of it, or a
// frag_list cycle, would otherwise corrupt the model).
TEST(SkbTest, AnSkbChainedOnAFragListIsReachedOnlyThroughItsHead) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(MAX_SKB_FRAGS + 1);
  ASSERT_EQ(p.size(), MAX_SKB_FRAGS + 1);
  const uint32_t held = f.BuildSized({p.begin(), p.end() - 1}, 1000);
  const uint32_t chained = f.BuildSized({p.back()}, 1000);
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = held, .skb = chained}), 1u);
  ASSERT_EQ(f.Sh(held).frag_list, std::vector<SkbId>{chained});
  for (OpBody body : {OpBody{op::KfreeSkb{.skb = chained}},
                      OpBody{op::SkbGroReceive{.p = chained, .skb = held}},
                      OpBody{op::SkbClone{.skb = chained}}}) {
    const absl::Status s = Rejected(*f.lab, body);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find(absl::StrCat("skb ", chained, " is chained on the frag_list of skb ",
                                            held)),
              absl::string_view::npos)
        << s.message();
  }
  f.Free(held);
  EXPECT_FALSE(f.Live(chained)) << "released with its head";
  EXPECT_NE(f.P(p.back()).state, FrameState::kPoolOut) << "its page went back to the pool";
}

// skb->len as the kernel keeps it (Skb::len; the kernel oracle's skb sequences observe it):
// skb_add_rx_frag adds each frag's size, skb_split(skb, skb1, len) leaves len and gives skb1
// the rest, skb_shift moves shiftlen, skb_try_coalesce adds from->len to `to` and leaves
// from->len as it was for the caller's kfree_skb_partial, skb_gro_receive adds the merged
// skb's len to p (net/core/skbuff.c skb_add_rx_frag, skb_split, skb_shift, skb_try_coalesce;
// net/core/gro.c skb_gro_receive; Debian 6.12.95, observed in
// tests/oracle/observed/6.12/skb-coalesce.json op 4 and skb-split.json op 3).
TEST(SkbTest, LenFollowsTheKernelsSkbLen) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(6);
  const uint32_t a = f.Op1(op::SkbBuild{.frags = {{.page = p[0].page, .len = 1024},
                                                  {.page = p[1].page, .offset = 1024}}});
  EXPECT_EQ(f.S(a).len, 1024u + 3072u);
  const uint32_t b = f.Op1(op::SkbSplit{.skb = a, .at = 0, .cut = 512});
  EXPECT_EQ(f.S(a).len, 512u);
  EXPECT_EQ(f.S(b).len, 512u + 3072u);
  const uint32_t c = f.Build({p[2]}, /*recycle=*/false);  // skb_split's skb1 is not pp either
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = c, .from = b}), 1u);
  EXPECT_EQ(f.S(c).len, 4096u + 3584u);
  EXPECT_TRUE(f.Sh(b).frags.empty());
  EXPECT_EQ(f.S(b).len, 3584u) << "skb_try_coalesce leaves from->len to the caller";
  const uint32_t d = f.Build({p[3], p[4]});
  EXPECT_EQ(f.Value(op::SkbShift{.tgt = c, .skb = d, .count = 1, .partial = 100}), 1u);
  EXPECT_EQ(f.S(c).len, 7680u + 4196u);
  EXPECT_EQ(f.S(d).len, 4096u - 100u);
  const uint32_t e = f.Build({p[5]}, /*recycle=*/false);
  const uint32_t clone = f.Op1(op::SkbClone{.skb = e});
  EXPECT_EQ(f.S(clone).len, 4096u);
  f.Free(clone);
  EXPECT_EQ(f.Value(op::SkbGroReceive{.p = c, .skb = e}), 1u);
  EXPECT_EQ(f.S(c).len, 11876u + 4096u);
}

// skb_shift merges only skb's first frag into tgt's last, when it continues it
// (skb_can_coalesce), and a shift shorter than that frag only moves bytes between the two
// descriptors: no reference is taken or dropped (net/core/skbuff.c skb_shift, the "todo < 0"
// branch, since 832d11c5cd07; Debian 6.12.95 in tests/oracle/observed/6.12/skb-shift-merge.json,
// found by the generated corpus's gen-000042: page refcount 3, not 4).
TEST(SkbTest, AShiftShorterThanAContinuingFragOnlyMovesBytes) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(1);
  const uint32_t a = f.Build({p[0]});
  const uint32_t b = f.Op1(op::SkbSplit{.skb = a, .at = 0, .cut = 1024});  // p0 [1024, 4096)
  ASSERT_EQ(f.P(p[0]).refcount, 2);
  EXPECT_EQ(f.Value(op::SkbShift{.tgt = a, .skb = b, .count = 0, .partial = 512}), 1u);
  EXPECT_EQ(f.P(p[0]).refcount, 2) << "no reference for the bytes that moved";
  ASSERT_EQ(f.Sh(a).frags.size(), 1u);
  EXPECT_EQ(f.Sh(a).frags[0].len, 1536u);
  ASSERT_EQ(f.Sh(b).frags.size(), 1u);
  EXPECT_EQ(f.Sh(b).frags[0].offset, 1536u);
  EXPECT_EQ(f.Sh(b).frags[0].len, 2560u);
  EXPECT_EQ(f.S(a).len, 1536u);
  EXPECT_EQ(f.S(b).len, 2560u);
}

// The merged frag takes no slot of tgt: a tgt with MAX_SKB_FRAGS frags still takes the frag
// that continues its last one (skb_shift counts slots from `from` past the merged frag).
TEST(SkbTest, AMergingShiftNeedsNoSlot) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(MAX_SKB_FRAGS);
  const uint32_t a = f.Build(p);
  const uint32_t b = f.Op1(op::SkbSplit{.skb = a, .at = MAX_SKB_FRAGS - 1, .cut = 1024});
  ASSERT_EQ(f.Sh(a).frags.size(), MAX_SKB_FRAGS);
  EXPECT_EQ(f.Value(op::SkbShift{.tgt = a, .skb = b, .count = 1}), 1u);
  EXPECT_EQ(f.Sh(a).frags.size(), MAX_SKB_FRAGS);
  EXPECT_EQ(f.Sh(a).frags.back().len, 4096u);
  EXPECT_TRUE(f.Sh(b).frags.empty());
  EXPECT_EQ(f.P(p.back()).refcount, 1) << "b's page reference dropped (b is not pp: put_page)";
}

// net/core/skbuff.c:pskb_expand_head and skb_clone_fraglist (v6.12): expanding a clone shares
// its frag_list with the new data by skb_get on each member; no skb is cloned. Both data areas
// name the member, each holding one of its users, and it is freed with the last of them.
TEST(SkbTest, ExpandHeadOnACloneTakesSkbGetOnFragListMembers) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(19);
  const auto [held, member] = f.ChainOnFragList(p);
  ASSERT_EQ(f.Sh(held).frag_list, std::vector<SkbId>{member});
  const uint32_t clone = f.Op1(op::SkbClone{.skb = held});
  const uint32_t next_id = LabTestPeer::machine(*f.lab).next_skb_id;
  MustApply(*f.lab, op::PskbExpandHead{.skb = clone}, kNapiCpu0);
  EXPECT_EQ(LabTestPeer::machine(*f.lab).next_skb_id, next_id) << "skb_get, not skb_clone";
  EXPECT_EQ(f.Sh(clone).frag_list, std::vector<SkbId>{member});
  EXPECT_EQ(f.Sh(held).frag_list, std::vector<SkbId>{member});
  EXPECT_EQ(f.S(member).users, 2u);
  f.Free(held);  // the first list lets go: the member stays, one user left
  ASSERT_TRUE(f.Live(member));
  EXPECT_EQ(f.S(member).users, 1u);
  EXPECT_EQ(f.S(member).on_frag_list, f.S(clone).shinfo);
  EXPECT_EQ(f.P(p[16]).state, FrameState::kPoolOut);
  f.Free(clone);  // the last one frees it, and its pp frags go home
  EXPECT_FALSE(f.Live(member));
  EXPECT_NE(f.P(p[16]).state, FrameState::kPoolOut);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

// net/core/skbuff.c:skb_try_coalesce (v6.12; the test predates v4.0): a frag_list on either skb
// refuses the merge and nothing moves.
TEST(SkbTest, CoalesceRefusesWhenEitherSkbHasAFragList) {
  Fixture f;
  const std::vector<PageRef> p = f.Pages(20);
  const uint32_t held = f.ChainOnFragList(p).first;
  const uint32_t plain = f.BuildSized({p[18]}, 1000);
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = plain, .from = held}), 0u) << "from has one";
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = held, .from = plain}), 0u) << "to has one";
  EXPECT_EQ(f.Sh(plain).frags.size(), 1u);
  EXPECT_EQ(f.Sh(held).frags.size(), 16u);
  const uint32_t other = f.BuildSized({p[19]}, 1000);
  EXPECT_EQ(f.Value(op::SkbTryCoalesce{.to = plain, .from = other}), 1u) << "neither has one";
}

// net/core/skbuff.c:skb_segment @ a580ea994fd3: the frag slices were referenced with
// __skb_frag_ref(frag, nskb->pp_recycle), and a fresh segment's pp_recycle is 0 (__alloc_skb;
// __skb_clone is what copies it), so even under that commit the segments took page references.
TEST(SkbTest, SegmentsTakePageRefsEvenUnderA580ea994fd3) {
  std::unique_ptr<Lab> lab = MakeLab(
      LabConfig{.profile = "v6.8", .profile_switches = {{"frag_ref_takes_pp_ref", "true"}}});
  const PoolId pool = BindNic(*lab, {.flags = 1}).pool;
  const std::vector<PageRef> p = Alloc(*lab, pool, 2);
  op::SkbBuild b{.recycle = true};
  for (const PageRef& r : p) b.frags.push_back({.page = r.page});
  const uint32_t a = MustApply(*lab, b, kNapiCpu0).skbs.at(0);
  const std::vector<uint32_t> segs = MustApply(*lab, op::SkbSegment{.skb = a}, kNapiCpu0).skbs;
  ASSERT_EQ(segs.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const Skb& seg = LabTestPeer::machine(*lab).skbs.at(segs[i]);
    EXPECT_FALSE(seg.pp_recycle);
    EXPECT_EQ(LabTestPeer::machine(*lab).shinfos.at(seg.shinfo).frags[0].ref, FragRef::kPage);
    EXPECT_EQ(Page(*lab, p[i]).refcount, 2);
    EXPECT_EQ(Page(*lab, p[i]).pp_ref_count, 1);
  }
  for (uint32_t s : segs) MustApply(*lab, op::KfreeSkb{.skb = s}, kNapiCpu0);
  MustApply(*lab, op::KfreeSkb{.skb = a}, kNapiCpu0);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// net/core/skbuff.c:skb_shift @ a580ea994fd3: the part of a frag shifted into tgt was
// referenced with __skb_frag_ref(fragfrom, skb->pp_recycle): a pp reference for a pp source.
// On every release it is a page reference (the §2 table row).
TEST(SkbTest, APartialShiftTakesAPpRefOnlyUnderA580ea994fd3) {
  for (const bool pp_ref : {false, true}) {
    std::unique_ptr<Lab> lab = MakeLab(LabConfig{
        .profile = "v6.8",
        .profile_switches = {{"frag_ref_takes_pp_ref", pp_ref ? "true" : "false"}}});
    const PoolId pool = BindNic(*lab, {.flags = 1}).pool;
    const std::vector<PageRef> p = Alloc(*lab, pool, 2);
    const uint32_t tgt =
        MustApply(*lab, op::SkbBuild{.frags = {{.page = p[0].page}}, .recycle = true}, kNapiCpu0)
            .skbs.at(0);
    const uint32_t skb =
        MustApply(*lab, op::SkbBuild{.frags = {{.page = p[1].page}}, .recycle = true}, kNapiCpu0)
            .skbs.at(0);
    ASSERT_EQ(MustApply(*lab, op::SkbShift{.tgt = tgt, .skb = skb, .count = 0, .partial = 100}, kNapiCpu0)
                  .value, 1u);
    const SkbShared& t = LabTestPeer::machine(*lab).shinfos.at(LabTestPeer::machine(*lab).skbs.at(tgt).shinfo);
    ASSERT_EQ(t.frags.size(), 2u);
    EXPECT_EQ(t.frags[1].ref, pp_ref ? FragRef::kPp : FragRef::kPage) << pp_ref;
    EXPECT_EQ(Page(*lab, p[1]).pp_ref_count, pp_ref ? 2 : 1);
    EXPECT_EQ(Page(*lab, p[1]).refcount, pp_ref ? 1 : 2);
  }
}

}  // namespace
}  // namespace ppsim::sim
