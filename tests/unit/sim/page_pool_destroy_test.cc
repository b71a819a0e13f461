// Tests for server/sim/page_pool_destroy.cc: the destroy life-cycle of docs/kernel/page-pool.md §4
// (user_cnt, synchronous free, detach and deferred release, the stalled warning, orphaning).
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::Advance;
using ::ppsim::sim::testing::Alloc;
using ::ppsim::sim::testing::BindNic;
using ::ppsim::sim::testing::CountEvents;
using ::ppsim::sim::testing::Drain;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::kProcessCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::Nic;
using ::ppsim::sim::testing::Pool;
using ::ppsim::sim::testing::Put;
using ::ppsim::sim::testing::MustApply;

constexpr absl::string_view kStalled = "page_pool_release_retry() stalled pool shutdown";

// A pool created directly on a bound netdev (visible), no DMA, no NAPI.
PoolId VisiblePool(Lab& lab, Nic& nic) {
  nic = BindNic(lab, {.flags = 0, .up = false});
  return MustApply(lab, op::PagePoolCreate{.netdev = nic.ifindex}).pool;
}

// §2.2 / §3.9: xdp_reg_mem_model takes a second user reference; only the destroy that drops
// user_cnt to 0 does anything.
TEST(PagePoolDestroyTest, XdpMemModelMeansTheFirstDestroyDoesNothing) {
  auto lab = MakeLab();
  Nic nic;
  const PoolId pool = VisiblePool(*lab, nic);
  MustApply(*lab, op::XdpRegMemModel{.pool = pool});
  EXPECT_EQ(Pool(*lab, pool).user_cnt, 2);
  lab->TakeEvents();

  MustApply(*lab, op::PagePoolDestroy{.pool = pool});
  EXPECT_EQ(Pool(*lab, pool).user_cnt, 1);
  EXPECT_EQ(Pool(*lab, pool).state, PoolState::kActive);
  EXPECT_EQ(lab->ListPools().size(), 1u);
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kPoolDel, pool), 0);

  MustApply(*lab, op::PagePoolDestroy{.pool = pool});
  EXPECT_EQ(Pool(*lab, pool).state, PoolState::kFreed);
  EXPECT_TRUE(lab->ListPools().empty());
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kPoolDel, pool), 1);
}

// §3.9: a driver with an XDP memory model destroys twice at netdev stop; the pool is freed.
TEST(PagePoolDestroyTest, DriverWithXdpMemModelFreesThePoolAtStop) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab, {.xdp = true});
  EXPECT_EQ(Pool(*lab, nic.pool).user_cnt, 2);
  MustApply(*lab, op::NetdevDown{.device = nic.dev});
  EXPECT_EQ(Pool(*lab, nic.pool).state, PoolState::kFreed);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §4.1 step 5: with nothing in flight outside the pool, the scrub empties cache and ring,
// inflight is 0 and the pool is freed synchronously: no detach-time, no change-ntf, a del-ntf.
TEST(PagePoolDestroyTest, DestroyWithNothingOutFreesSynchronously) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  const uint64_t free_before = LabTestPeer::machine(*lab).memory.free_pages();
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  Put(*lab, pages[0], kNapiCpu0);  // cache
  Put(*lab, pages[1], kProcessCpu0);  // ring
  ASSERT_EQ(Pool(*lab, nic.pool).inflight, 64u);
  lab->TakeEvents();

  MustApply(*lab, op::PagePoolDestroy{.pool = nic.pool});
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.state, PoolState::kFreed);
  EXPECT_FALSE(p.detach_time.has_value());
  EXPECT_EQ(p.inflight_strict, 0);
  EXPECT_EQ(LabTestPeer::machine(*lab).memory.free_pages(), free_before);
  std::vector<Event> events = lab->TakeEvents();
  EXPECT_EQ(CountEvents(events, EventKind::kPoolDel, nic.pool), 1);
  EXPECT_EQ(CountEvents(events, EventKind::kPoolChange, nic.pool), 0);
  EXPECT_TRUE(lab->ListPools().empty());
  Advance(*lab, 10 * kSecond);
  EXPECT_FALSE(Pool(*lab, nic.pool).detach_time.has_value());
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §4.1 step 6, §4.3: a page held at destroy detaches the pool (detach_time = boot seconds,
// change-ntf). The retry runs every second; the page, returned later, goes to the ring (direct
// recycling is off even on the NAPI's CPU) and the next retry, within 1 s, frees the pool.
TEST(PagePoolDestroyTest, DestroyWithAHeldPageDetachesAndRetriesEverySecond) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  Advance(*lab, 5 * kSecond);
  EXPECT_FALSE(Pool(*lab, nic.pool).detach_time.has_value());
  lab->TakeEvents();

  MustApply(*lab, op::PagePoolDestroy{.pool = nic.pool});
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.state, PoolState::kDetached);
  ASSERT_TRUE(p.detach_time.has_value());
  EXPECT_EQ(*p.detach_time, 5);
  EXPECT_EQ(p.inflight, 1u);
  EXPECT_EQ(p.cache_count, 0u);
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kPoolChange, nic.pool), 1);
  ASSERT_EQ(lab->ListPools().size(), 1u);
  EXPECT_EQ(lab->ListPools()[0].detach_time, 5);

  Advance(*lab, 30 * kSecond + 300 * kMillisecond);
  EXPECT_EQ(Pool(*lab, nic.pool).state, PoolState::kDetached);
  EXPECT_EQ(Pool(*lab, nic.pool).detach_time, 5);

  const Nanos returned_at = lab->now();
  Put(*lab, pages[0], kNapiCpu0);
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.recycle.cached, 0u);
  EXPECT_EQ(p.recycle.ring, 1u);
  EXPECT_EQ(p.state, PoolState::kDetached);  // freed by the retry, not by the put

  Advance(*lab, 1 * kSecond);
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.state, PoolState::kFreed);
  EXPECT_EQ(p.inflight_strict, 0);
  const Nanos freed_at = LabTestPeer::machine(*lab).FindPool(nic.pool)->freed_at();
  EXPECT_GT(freed_at, returned_at);
  EXPECT_LE(freed_at, returned_at + 1 * kSecond);
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kPoolDel, nic.pool), 1);
  EXPECT_TRUE(lab->ListPools().empty());
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §4.1 / §6.3: an invisible pool (no netdev) that stays stalled prints the stalled warning
// every 60 s; the checker reports PP012 once.
TEST(PagePoolStalledTest, InvisiblePoolLogsEvery60Seconds) {
  auto lab = MakeLab({.profile = "v6.8"});
  const PoolId pool = MustApply(*lab, op::PagePoolCreate{}).pool;
  ASSERT_EQ(Alloc(*lab, pool, 1).size(), 1u);
  MustApply(*lab, op::PagePoolDestroy{.pool = pool});
  ASSERT_EQ(Pool(*lab, pool).state, PoolState::kDetached);
  EXPECT_TRUE(lab->ListPools().empty());
  std::vector<Event> events;

  Advance(*lab, 59 * kSecond);
  Drain(*lab, events);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, pool, kStalled), 0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 0u);

  Advance(*lab, 1 * kSecond);
  Drain(*lab, events);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, pool,
                        absl::StrFormat("%s: id %u, 1 inflight 60 sec", kStalled, pool)),
            1);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 1u);

  Advance(*lab, 59 * kSecond);
  Drain(*lab, events);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, pool, kStalled), 1);
  Advance(*lab, 1 * kSecond);
  Drain(*lab, events);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, pool,
                        absl::StrFormat("%s: id %u, 1 inflight 120 sec", kStalled, pool)),
            1);
  Advance(*lab, 60 * kSecond);
  Drain(*lab, events);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, pool, kStalled), 3);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 1u);
}

// §4.1: pools still listed through netlink (a real netdev, or orphaned to lo) never print the
// warning on v6.8+; PP012 still reports the stall.
TEST(PagePoolStalledTest, VisibleAndOrphanedPoolsDoNotLogOnV68) {
  for (const char* profile : {"v6.8", "v6.15"}) {
    SCOPED_TRACE(profile);
    auto lab = MakeLab({.profile = profile});
    Nic nic = BindNic(*lab, {.flags = 0});
    ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
    MustApply(*lab, op::NetdevDown{.device = nic.dev});
    ASSERT_EQ(Pool(*lab, nic.pool).state, PoolState::kDetached);
    Advance(*lab, 130 * kSecond);
    EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 1u);
    EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kKernelLog, 0, kStalled), 0);

    MustApply(*lab, op::UnbindDriver{.device = nic.dev});
    ASSERT_EQ(Pool(*lab, nic.pool).visibility, Visibility::kOrphaned);
    Advance(*lab, 130 * kSecond);
    EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kKernelLog, 0, kStalled), 0);
    EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 1u);
  }
}

// §4.1 / §5a: before netlink (v6.8), on v6.1, the warning was printed for every pool.
TEST(PagePoolStalledTest, VisiblePoolLogsOnV61) {
  auto lab = MakeLab({.profile = "v6.1"});
  Nic nic = BindNic(*lab, {.flags = 0});
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  MustApply(*lab, op::NetdevDown{.device = nic.dev});
  Advance(*lab, 121 * kSecond);
  const std::vector<Event> events = lab->TakeEvents();
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, nic.pool, kStalled), 2);
  // 6.1's line has no id (net/core/page_pool.c v6.1 page_pool_release_retry: "%s() stalled
  // pool shutdown %d inflight %d sec"; the oracle saw "stalled pool shutdown 2 inflight 60 sec").
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, nic.pool,
                        absl::StrFormat("%s 1 inflight 60 sec", kStalled)),
            1);
  EXPECT_EQ(CountEvents(events, EventKind::kKernelLog, nic.pool, ": id "), 0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP012), 1u);
}

// §4.2 / §6.1: unregistering the netdev orphans a waiting pool to lo: still listed, without
// ifindex. Deleting the namespace makes it invisible (unlisted), and then it warns.
TEST(PagePoolOrphanTest, UnregisterOrphansToLoAndDeleteNetnsHidesThePool) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  ASSERT_EQ(Pool(*lab, nic.pool).ifindex, nic.ifindex);
  lab->TakeEvents();

  MustApply(*lab, op::UnbindDriver{.device = nic.dev});
  std::vector<PoolInfo> listed = lab->ListPools();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, nic.pool);
  EXPECT_FALSE(listed[0].ifindex.has_value());
  EXPECT_EQ(listed[0].visibility, Visibility::kOrphaned);
  EXPECT_TRUE(listed[0].detach_time.has_value());
  EXPECT_EQ(listed[0].inflight, 1u);
  EXPECT_GE(CountEvents(lab->TakeEvents(), EventKind::kPoolChange, nic.pool), 1);

  MustApply(*lab, op::DeleteNetns{});
  EXPECT_TRUE(lab->ListPools().empty());
  EXPECT_EQ(Pool(*lab, nic.pool).visibility, Visibility::kInvisible);
  EXPECT_EQ(Pool(*lab, nic.pool).state, PoolState::kDetached);
  Advance(*lab, 61 * kSecond);
  EXPECT_EQ(CountEvents(lab->TakeEvents(), EventKind::kKernelLog, nic.pool, kStalled), 1);

  // The straggler still frees the (invisible) pool within a second of its return.
  Put(*lab, pages[0], kProcessCpu0);
  Advance(*lab, 1 * kSecond);
  EXPECT_EQ(Pool(*lab, nic.pool).state, PoolState::kFreed);
}

}  // namespace
}  // namespace ppsim::sim
