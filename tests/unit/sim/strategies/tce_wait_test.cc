// `tce-wait`, Gaurav Batra's powerpc proposal (docs/kernel/page-pool.md §5e; v2
// 20250213171051.63748-1-gbatra@linux.ibm.com; docs/kernel/skb-and-iommu.md §4.5): the pool behaves
// as legacy, and DLPAR removal polls iommu_table_free every 50 ms while TCEs are in use, giving up
// after 120 s and freeing the table anyway. A holder that returns within the wait unblocks the
// removal; one that outlives it brings the late-unmap oops back.
#include <algorithm>

#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::StartInflightStory;
using testing::ViolationsOf;

InflightStory Start() {
  return StartInflightStory(LabConfig{.iommu_model = IommuModel::kPpcDdw, .profile = "v6.8"},
                            "tce-wait");
}

size_t CountLogs(const std::vector<Event>& events, absl::string_view text) {
  return std::count_if(events.begin(), events.end(), [&](const Event& e) {
    return e.kind == EventKind::kKernelLog && absl::string_view(e.text).find(text) !=
                                                  absl::string_view::npos;
  });
}

// Control: no TCE in use at removal, nothing to wait for.
TEST(TceWaitStrategyTest, RemovalWithNoTcesInUseIsImmediate) {
  InflightStory s = Start();
  s.ReturnHeld();
  s.Unbind();
  s.Remove();
  EXPECT_EQ(s.Device().state, DeviceState::kRemoved);
  EXPECT_EQ(s.Device().removal_latency, 0);
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

// §5e: "while the table still has TCEs in use, log 'iommu_table_free: Unexpected TCEs, wait
// for 50ms' and sleep 50 ms". The holder returns after 30 s; the pool's next retry tick
// (§4.3, <= 1 s) unmaps the TCE and the next poll lets the removal finish.
TEST(TceWaitStrategyTest, HolderReturningWithin120sUnblocksRemoval) {
  InflightStory s = Start();
  s.Unbind();
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 1u) << "legacy pool: TCE still in use";
  s.lab->TakeEvents();
  const Nanos removal_start = s.lab->now();
  s.Remove();
  EXPECT_EQ(s.Device().state, DeviceState::kRemoving);
  EXPECT_EQ(s.Device().removal_latency, -1) << "device_del has not returned";

  Advance(*s.lab, 30 * kSecond);
  EXPECT_EQ(s.Device().state, DeviceState::kRemoving);
  // Polls at 0, 50 ms, ..., 30 s.
  EXPECT_EQ(CountLogs(s.lab->TakeEvents(), "iommu_table_free: Unexpected TCEs, wait for 50ms"),
            601u);

  const Nanos waited_until_return = s.lab->now() - removal_start;
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  const DeviceInfo dev = s.Device();
  EXPECT_EQ(dev.state, DeviceState::kRemoved);
  EXPECT_GE(dev.removal_latency, waited_until_return);
  EXPECT_LE(dev.removal_latency, waited_until_return + DEFER_TIME + 50 * kMillisecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP014), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u) << "the table was still there";
  // The unmap still came after the driver unbound (docs/design.md §3.3: every DMA API call from
  // there on breaks the contract).
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 1u);
}

// §5e failure mode: "unbounded holders (skb defer-free, sockets) outlast 120 s → same oops
// afterwards". PP014 at the 120 s give-up, then PP001 (plpar_tce_stuff failed, §4.4) when the
// page finally returns.
TEST(TceWaitStrategyTest, HolderOutlasting120sBlocksRemovalThenOopses) {
  InflightStory s = Start();
  s.Unbind();
  s.lab->TakeEvents();
  const Nanos removal_start = s.lab->now();
  s.Remove();
  Advance(*s.lab, 119 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP014), 0u);
  EXPECT_EQ(s.Device().state, DeviceState::kRemoving);

  Advance(*s.lab, 2 * kSecond);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP014), 1u);
  const Violation& blocked = *ViolationsOf(*s.lab, ViolationId::kPP014)[0];
  EXPECT_EQ(blocked.time, removal_start + 120 * kSecond);
  EXPECT_EQ(blocked.device, s.dev);
  const std::vector<Event> log = s.lab->TakeEvents();
  EXPECT_EQ(CountLogs(log, "TCEs still mapped even after 120 seconds"), 1u);
  // msleep(50) keeps drmgr runnable: the hung-task detector never fires (issue 13 item 8), and
  // the table is freed in use, which mainline's iommu_table_free warns about.
  EXPECT_EQ(CountLogs(log, "blocked for more than"), 0u);
  EXPECT_EQ(CountLogs(log, "iommu_table_free: Unexpected TCEs (1 still mapped)"), 1u);
  EXPECT_EQ(s.Device().state, DeviceState::kRemoved) << "gave up and freed the table anyway";
  EXPECT_EQ(s.Device().removal_latency, 120 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);

  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP001), 1u);
  const Violation& crash = *ViolationsOf(*s.lab, ViolationId::kPP001)[0];
  EXPECT_EQ(crash.pfn, s.held.page.pfn);
  EXPECT_NE(crash.message.find("plpar_tce_stuff failed"), std::string::npos) << crash.message;
}

}  // namespace
}  // namespace ppsim::sim
