// Tests for server/sim/clock.h: virtual time and deferred work (docs/design.md §3.9).
#include "server/sim/clock.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::ElementsAre;

struct Ran {
  std::string name;
  Nanos at;
  friend bool operator==(const Ran&, const Ran&) = default;
};

TEST(VirtualClockTest, TimersRunInTimeThenSchedulingOrder) {
  VirtualClock clock;
  std::vector<Ran> ran;
  auto rec = [&](const char* n) { return [&, n] { ran.push_back({n, clock.now()}); }; };
  clock.Schedule(30, "c", rec("c"));
  clock.Schedule(20, "b1", rec("b1"));
  clock.Schedule(10, "a", rec("a"));
  clock.Schedule(20, "b2", rec("b2"));
  clock.Schedule(20, "b3", rec("b3"));
  EXPECT_EQ(clock.pending(), 5u);
  EXPECT_EQ(clock.next_deadline(), 10);
  clock.AdvanceTo(100);
  EXPECT_THAT(ran,
              ElementsAre(Ran{"a", 10}, Ran{"b1", 20}, Ran{"b2", 20}, Ran{"b3", 20}, Ran{"c", 30}));
  EXPECT_EQ(clock.now(), 100);
  EXPECT_EQ(clock.pending(), 0u);
  EXPECT_EQ(clock.next_deadline(), -1);
}

TEST(VirtualClockTest, AdvanceStopsAtTheTargetAndLeavesLaterWork) {
  VirtualClock clock;
  int runs = 0;
  clock.Schedule(50, "due", [&] { ++runs; });
  clock.Schedule(51, "later", [&] { ++runs; });
  clock.AdvanceTo(50);  // "at or before until"
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.now(), 50);
  EXPECT_EQ(clock.pending(), 1u);
  EXPECT_EQ(clock.next_deadline(), 51);
  // Time never moves backwards.
  clock.AdvanceTo(10);
  EXPECT_EQ(clock.now(), 50);
  EXPECT_EQ(runs, 1);
}

TEST(VirtualClockTest, WorkScheduledWhileAdvancingRunsInTheSameCallWhenDue) {
  VirtualClock clock;
  std::vector<Ran> ran;
  clock.Schedule(10, "first", [&] {
    ran.push_back({"first", clock.now()});
    clock.Schedule(15, "chained", [&] {
      ran.push_back({"chained", clock.now()});
      // Scheduled in the past: clamped to now, still runs in this call.
      clock.Schedule(0, "clamped", [&] { ran.push_back({"clamped", clock.now()}); });
    });
    clock.Schedule(100, "too-late", [&] { ran.push_back({"too-late", clock.now()}); });
  });
  clock.Schedule(12, "second", [&] { ran.push_back({"second", clock.now()}); });
  clock.AdvanceTo(50);
  EXPECT_THAT(ran, ElementsAre(Ran{"first", 10}, Ran{"second", 12}, Ran{"chained", 15},
                               Ran{"clamped", 15}));
  EXPECT_EQ(clock.now(), 50);
  EXPECT_EQ(clock.pending(), 1u);
  EXPECT_EQ(clock.next_deadline(), 100);
}

TEST(VirtualClockTest, CancelPreventsTheRunAndReportsWhetherItDidAnything) {
  VirtualClock clock;
  int a = 0, b = 0;
  const TimerId ia = clock.Schedule(10, "a", [&] { ++a; });
  const TimerId ib = clock.Schedule(10, "b", [&] { ++b; });
  EXPECT_NE(ia, ib);
  EXPECT_TRUE(clock.Cancel(ia));
  EXPECT_FALSE(clock.Cancel(ia));
  EXPECT_EQ(clock.pending(), 1u);
  clock.AdvanceTo(20);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(clock.Cancel(ib));  // already ran
}

TEST(VirtualClockTest, WorkCanCancelALaterTimer) {
  VirtualClock clock;
  int later = 0;
  TimerId id = 0;
  clock.Schedule(5, "canceller", [&] { EXPECT_TRUE(clock.Cancel(id)); });
  id = clock.Schedule(8, "victim", [&] { ++later; });
  clock.AdvanceTo(10);
  EXPECT_EQ(later, 0);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(VirtualClockTest, RunDueRunsOnlyWhatIsDueWithoutMovingTime) {
  VirtualClock clock;
  clock.AdvanceTo(1000);
  int now_runs = 0, future_runs = 0;
  clock.Schedule(clock.now(), "now", [&] { ++now_runs; });
  clock.Schedule(400, "past", [&] { ++now_runs; });  // clamped to now
  clock.Schedule(1001, "future", [&] { ++future_runs; });
  clock.RunDue();
  EXPECT_EQ(now_runs, 2);
  EXPECT_EQ(future_runs, 0);
  EXPECT_EQ(clock.now(), 1000);
  EXPECT_EQ(clock.next_deadline(), 1001);
}

TEST(VirtualClockTest, RunningNamesTheCurrentTimer) {
  VirtualClock clock;
  std::string seen;
  clock.Schedule(1, "page_pool_release_retry", [&] { seen = clock.running(); });
  EXPECT_EQ(clock.running(), "");
  clock.AdvanceTo(kSecond);
  EXPECT_EQ(seen, "page_pool_release_retry");
  EXPECT_EQ(clock.running(), "");
}

}  // namespace
}  // namespace ppsim::sim
