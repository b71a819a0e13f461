// Lab::Info's teardown timings (server/sim/lab.cc; docs/design.md §3.6, §6 compare): when destroy
// detached a pool, when the pool was freed, and how long its device's removal waited. They are
// what `ppctl compare` turns into drain time and removal latency, so each is pinned here on a
// story whose numbers the kernel docs give.
#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::kNapiCpu0;
using testing::MustApply;
using testing::StartInflightStory;

// The page leaves the driver inside an skb that the IPv4 defrag queue holds for ipfrag_time
// (30 s, stack_holder.h). Unbind destroys the pool with the page in flight.
InflightStory DefragStory(const std::string& strategy) {
  InflightStory s = StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, strategy);
  const uint32_t skb =
      MustApply(*s.lab, op::SkbBuild{.frags = {{.page = s.held.page}}}, kNapiCpu0).skbs.at(0);
  MustApply(*s.lab, op::StackHold{.skb = skb, .holder = "defrag", .cpu = 0}, kNapiCpu0);
  return s;
}

TEST(LabTeardownTimingsTest, LivePoolHasNoTimings) {
  InflightStory s = DefragStory("legacy");
  const PoolInfo p = s.Pool();
  EXPECT_EQ(p.detached_at, -1);
  EXPECT_EQ(p.freed_at, -1);
  EXPECT_EQ(p.device_removal_wait, -1);
}

// docs/kernel/page-pool.md §4.3: a detached pool is retried every DEFER_TIME (1 s) and freed by the
// first retry that sees inflight 0. The defrag queue frees the skb 30 s after queueing it and
// the page goes to the ptr_ring; the retry tick after that releases the page and frees the
// pool. Both timers fall due at 30 s; the clock runs them in the order they were scheduled
// (clock.h), and the queue's 30 s timer was armed before the pool's 29 s retry re-armed itself
// for 30 s, so the 30 s tick already sees the page back: drain = 30 s exactly. A hold that ends
// between ticks is rounded up to the next tick (the second case).
TEST(LabTeardownTimingsTest, LegacyDrainEndsOnTheFirstRetryTickAfterTheDefragHold) {
  InflightStory s = DefragStory("legacy");
  const Nanos unbind_at = s.lab->now();
  s.Unbind();
  PoolInfo p = s.Pool();
  ASSERT_EQ(p.state, PoolState::kDetached);
  EXPECT_EQ(p.detached_at, unbind_at);
  EXPECT_EQ(p.freed_at, -1) << "a page is still in the defrag queue";

  Advance(*s.lab, 40 * kSecond);
  p = s.Pool();
  ASSERT_EQ(p.state, PoolState::kFreed);
  EXPECT_EQ(p.detached_at, unbind_at) << "kept after the free";
  EXPECT_EQ(p.freed_at - p.detached_at, kIpFragTime);
}

TEST(LabTeardownTimingsTest, LegacyDrainRoundsUpToTheNextRetryTick) {
  InflightStory s = DefragStory("legacy");
  Advance(*s.lab, 500 * kMillisecond);  // the queue lets go at 30 s, the retries tick at x.5 s
  const Nanos unbind_at = s.lab->now();
  s.Unbind();
  Advance(*s.lab, 40 * kSecond);
  const PoolInfo p = s.Pool();
  ASSERT_EQ(p.state, PoolState::kFreed);
  EXPECT_EQ(p.detached_at, unbind_at);
  EXPECT_EQ(p.freed_at, kIpFragTime + 500 * kMillisecond) << "the first tick after 30 s";
  EXPECT_EQ(p.freed_at - p.detached_at, kIpFragTime);
}

// Nothing in flight: destroy frees the pool at once (§4.1 step 5), no detach.
TEST(LabTeardownTimingsTest, PoolFreedAtDestroyWasNeverDetached) {
  InflightStory s = StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "legacy");
  s.ReturnHeld();
  s.Unbind();
  const PoolInfo p = s.Pool();
  EXPECT_EQ(p.state, PoolState::kFreed);
  EXPECT_EQ(p.detached_at, -1);
  EXPECT_EQ(p.freed_at, s.lab->now());
}

// Removal without a waiting strategy completes in the same op: wait 0.
TEST(LabTeardownTimingsTest, LegacyRemovalDoesNotWait) {
  InflightStory s = DefragStory("legacy");
  s.Unbind();
  s.Remove();
  EXPECT_EQ(s.Pool().device_removal_wait, 0);
}

// tce-wait (docs/kernel/page-pool.md §5e): removal polls every 50 ms while a TCE is in use. The
// defrag queue lets go at 30 s, the pool's next retry tick unmaps the TCE, and the next poll
// finishes the removal: a wait of 30 s plus at most one retry second and one poll interval.
// While it is still waiting, the pool reports the wait so far.
TEST(LabTeardownTimingsTest, TceWaitRemovalWaitsForTheDefragHold) {
  InflightStory s = StartInflightStory(
      LabConfig{.iommu_model = IommuModel::kPpcDdw, .profile = "v6.8"}, "tce-wait");
  const uint32_t skb =
      MustApply(*s.lab, op::SkbBuild{.frags = {{.page = s.held.page}}}, kNapiCpu0).skbs.at(0);
  MustApply(*s.lab, op::StackHold{.skb = skb, .holder = "defrag", .cpu = 0}, kNapiCpu0);
  s.Unbind();
  s.Remove();
  ASSERT_EQ(s.Device().state, DeviceState::kRemoving);
  Advance(*s.lab, 10 * kSecond);
  EXPECT_EQ(s.Pool().device_removal_wait, 10 * kSecond) << "still waiting: the wait so far";

  Advance(*s.lab, 30 * kSecond);
  ASSERT_EQ(s.Device().state, DeviceState::kRemoved);
  const Nanos wait = s.Pool().device_removal_wait;
  EXPECT_EQ(wait, s.Device().removal_latency);
  EXPECT_GE(wait, kIpFragTime);
  EXPECT_LE(wait, kIpFragTime + DEFER_TIME + 50 * kMillisecond);
  EXPECT_EQ(wait % (50 * kMillisecond), 0) << "finished on a poll";
}

}  // namespace
}  // namespace ppsim::sim
