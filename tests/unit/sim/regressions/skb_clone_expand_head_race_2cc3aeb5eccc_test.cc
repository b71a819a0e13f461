// B1: skb_clone + pskb_expand_head, fixed by 2cc3aeb5eccc "skbuff: Fix a potential race while
// recycling page_pool packets" (docs/kernel/skb-and-iommu.md §2.1 B1, §1.3). Before the fix the
// expanded clone kept pp_recycle = 1 while its frags held page references; freeing both skbs on
// two CPUs at once lets the second free recycle a page the first one already released from the
// pool (unmapped, signature cleared): PP016, a page the pool does not own back in its ring.
#include <gtest/gtest.h>

#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Outcome {
  uint64_t pp016 = 0;
  uint64_t total = 0;
  bool b_pp_recycle = false;
};

Outcome RunStory(bool release_data_clears_pp_recycle) {
  LabConfig cfg;
  cfg.profile = "v5.14";
  cfg.profile_switches = {{"release_data_clears_pp_recycle",
                           release_data_clears_pp_recycle ? "true" : "false"}};
  auto lab = MakeLab(cfg);
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  const PageRef p = MustApply(*lab, op::PagePoolAllocPages{.pool = nic.pool}, kNapiCpu0).pages.at(0);
  const uint32_t a = MustApply(*lab, op::SkbBuild{.frags = {{.page = p.page}}}, kNapiCpu0).skbs.at(0);
  const uint32_t b = MustApply(*lab, op::SkbClone{.skb = a}, kNapiCpu0).skbs.at(0);
  MustApply(*lab, op::PskbExpandHead{.skb = b}, kNapiCpu0);
  Outcome out;
  out.b_pp_recycle = LabTestPeer::machine(*lab).skbs.at(b).pp_recycle;
  MustApply(*lab, op::KfreeSkbConcurrent{.skbs = {a, b}}, {CtxKind::kSoftirq, 1});
  out.pp016 = lab->violation_count(ViolationId::kPP016);
  out.total = lab->violation_total();
  return out;
}

TEST(SkbCloneExpandHeadRace2cc3aeb5eccc, WithoutTheFixTheSecondFreeRecyclesAReleasedPage) {
  const Outcome o = RunStory(/*release_data_clears_pp_recycle=*/false);
  EXPECT_TRUE(o.b_pp_recycle) << "the expanded clone kept pp_recycle";
  EXPECT_EQ(o.pp016, 1u);
}

TEST(SkbCloneExpandHeadRace2cc3aeb5eccc, WithTheFixOnlyTheLastCloneRecycles) {
  const Outcome o = RunStory(/*release_data_clears_pp_recycle=*/true);
  EXPECT_FALSE(o.b_pp_recycle) << "skb_release_data cleared pp_recycle on the clone";
  EXPECT_EQ(o.total, 0u);
}

}  // namespace
}  // namespace ppsim::sim
