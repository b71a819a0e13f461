// B8: the pool freed while a producer is still inside its ring, fixed by 271683bb2cf3
// "page_pool: Fix use-after-free in page_pool_recycle_in_ring" (docs/kernel/skb-and-iommu.md §2.1
// B8, §8 scenario 17; docs/kernel/page-pool.md §4.1 step 3, §9.2). A pool destroyed with one page
// in flight is detached; the last page comes back from softirq on another CPU and is produced
// into the ring. The release worker (fault site release_during_ring_produce) drains the ring
// while the producer still holds the producer lock, sees inflight 0 and frees the pool. Before
// the fix (v6.8: release_syncs_producer_lock=false) the producer then unlocks and bumps
// recycle_stats.ring inside the freed pool: KASAN "slab-use-after-free" and PP015. Since the
// fix (v6.15) release waits for the producer: the pool is freed just the same, safely.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Alloc;
using testing::BindNic;
using testing::CountEvents;
using testing::InBuddy;
using testing::kNapiCpu0;
using testing::kOtherCpu;
using testing::MakeLab;
using testing::MustApply;

constexpr absl::string_view kKasan = "BUG: KASAN: slab-use-after-free in page_pool_recycle_in_ring";

enum class ReturnPath { kNapiPpPutPage, kKfreeSkb };

struct Outcome {
  uint64_t pp015 = 0;
  uint64_t total = 0;
  int kasan_lines = 0;
  PoolState state_before = PoolState::kActive;
  int32_t inflight_before = -1;
  PoolState state_after = PoolState::kActive;
  bool page_in_buddy = false;
  bool produced_into_ring = false;
  PoolId pool = 0;
  const Violation* first_pp015 = nullptr;
  std::unique_ptr<Lab> lab;
};

Outcome RunStory(const std::string& profile, ReturnPath path, bool fault = true) {
  Outcome out;
  out.lab = MakeLab(LabConfig{.profile = profile});
  Lab& lab = *out.lab;
  const testing::Nic nic = BindNic(lab, {.flags = 1});
  out.pool = nic.pool;
  const PageRef p = Alloc(lab, nic.pool).at(0);
  uint32_t skb = 0;
  if (path == ReturnPath::kKfreeSkb) {
    skb = MustApply(lab, op::SkbBuild{.frags = {{.page = p.page}}}, kNapiCpu0).skbs.at(0);
  }
  // ndo_stop: page_pool_destroy with the page still out → detached, retried every 1 s.
  MustApply(lab, op::NetdevDown{.device = nic.dev});
  const PoolInfo before = testing::Pool(lab, nic.pool);
  out.state_before = before.state;
  out.inflight_before = before.inflight_strict;
  if (fault) {
    MustApply(lab, op::SetFault{.site = "release_during_ring_produce", .probability = 1.0});
  }
  lab.TakeEvents();
  const uint64_t at = testing::NextOpIndex(lab);
  // The last page comes back from softirq on CPU 1: not the pool's CPU, and direct recycling
  // is off anyway after destroy (§4.3), so it is produced into the ring.
  if (path == ReturnPath::kKfreeSkb) {
    MustApply(lab, op::KfreeSkb{.skb = skb}, kOtherCpu);
  } else {
    MustApply(lab, op::NapiPpPutPage{.page = p.page}, kOtherCpu);
  }
  out.produced_into_ring =
      testing::PageEventSince(lab, p.page.pfn, PageEventKind::kRecycleRing, at);
  out.kasan_lines = CountEvents(lab.TakeEvents(), EventKind::kKernelLog, nic.pool, kKasan);
  out.pp015 = lab.violation_count(ViolationId::kPP015);
  out.total = lab.violation_total();
  out.state_after = testing::Pool(lab, nic.pool).state;
  out.page_in_buddy = InBuddy(testing::Page(lab, p));
  std::vector<const Violation*> v = testing::ViolationsOf(lab, ViolationId::kPP015);
  if (!v.empty()) out.first_pp015 = v[0];
  return out;
}

TEST(PoolUseAfterFreeLastReturn271683bb2cf3, TheStoryStartsWithADetachedPoolAndOnePageOut) {
  const Outcome o = RunStory("v6.8", ReturnPath::kNapiPpPutPage);
  EXPECT_EQ(o.state_before, PoolState::kDetached);
  EXPECT_EQ(o.inflight_before, 1);
  EXPECT_TRUE(o.produced_into_ring) << "recyclable page after destroy goes to the ptr_ring";
}

TEST(PoolUseAfterFreeLastReturn271683bb2cf3, BeforeTheFixTheProducerTouchesTheFreedPool) {
  const Outcome o = RunStory("v6.8", ReturnPath::kNapiPpPutPage);
  EXPECT_EQ(o.pp015, 1u);
  EXPECT_EQ(o.total, 1u) << "nothing but the use-after-free";
  EXPECT_EQ(o.kasan_lines, 1);
  ASSERT_NE(o.first_pp015, nullptr);
  EXPECT_EQ(o.first_pp015->pool, o.pool);
  EXPECT_EQ(o.first_pp015->severity, Severity::kCrash);
  EXPECT_NE(o.first_pp015->message.find("271683bb2cf3"), std::string::npos)
      << o.first_pp015->message;
  EXPECT_EQ(o.state_after, PoolState::kFreed) << "the release worker freed the pool";
  EXPECT_TRUE(o.page_in_buddy) << "the drained page was released and freed";
}

TEST(PoolUseAfterFreeLastReturn271683bb2cf3, BeforeTheFixTheSkbFreePathHitsItToo) {
  const Outcome o = RunStory("v6.8", ReturnPath::kKfreeSkb);
  EXPECT_TRUE(o.produced_into_ring);
  EXPECT_EQ(o.pp015, 1u);
  EXPECT_EQ(o.kasan_lines, 1);
  EXPECT_EQ(o.state_after, PoolState::kFreed);
  EXPECT_TRUE(o.page_in_buddy);
}

TEST(PoolUseAfterFreeLastReturn271683bb2cf3, WithTheFixReleaseWaitsForTheProducer) {
  for (ReturnPath path : {ReturnPath::kNapiPpPutPage, ReturnPath::kKfreeSkb}) {
    const Outcome o = RunStory("v6.15", path);
    EXPECT_EQ(o.state_before, PoolState::kDetached);
    EXPECT_TRUE(o.produced_into_ring);
    EXPECT_EQ(o.total, 0u);
    EXPECT_EQ(o.kasan_lines, 0);
    EXPECT_EQ(o.state_after, PoolState::kFreed) << "freed by the same release run, safely";
    EXPECT_TRUE(o.page_in_buddy);
  }
}

// The switch alone decides it: v6.8 with 271683bb2cf3 backported is safe.
TEST(PoolUseAfterFreeLastReturn271683bb2cf3, TheProfileSwitchIsTheFix) {
  auto lab = MakeLab(LabConfig{.profile = "v6.8",
                               .profile_switches = {{"release_syncs_producer_lock", "true"}}});
  const testing::Nic nic = BindNic(*lab, {.flags = 1});
  const PageRef p = Alloc(*lab, nic.pool).at(0);
  MustApply(*lab, op::NetdevDown{.device = nic.dev});
  MustApply(*lab, op::SetFault{.site = "release_during_ring_produce", .probability = 1.0});
  MustApply(*lab, op::NapiPpPutPage{.page = p.page}, kOtherCpu);
  EXPECT_EQ(lab->violation_total(), 0u);
  EXPECT_EQ(testing::Pool(*lab, nic.pool).state, PoolState::kFreed);
}

// Control: without the race the page waits in the ring for the next retry tick (§4.3), which
// drains it and frees the pool with no producer inside.
TEST(PoolUseAfterFreeLastReturn271683bb2cf3, WithoutTheRaceTheRetryTickFreesThePool) {
  Outcome o = RunStory("v6.8", ReturnPath::kNapiPpPutPage, /*fault=*/false);
  EXPECT_TRUE(o.produced_into_ring);
  EXPECT_EQ(o.state_after, PoolState::kDetached) << "still waiting for the retry tick";
  testing::Advance(*o.lab, DEFER_TIME);
  EXPECT_EQ(testing::Pool(*o.lab, o.pool).state, PoolState::kFreed);
  EXPECT_EQ(o.lab->violation_total(), 0u);
}

}  // namespace
}  // namespace ppsim::sim
