// The violation record (server/sim/machine.cc Machine::Violate; docs/design.md §3.11: "a violation
// has a stable id, a severity, the op index, the virtual time, and an explanation that
// includes the page's recent history (its last 16 events) and the faults that touched it";
// §3.10: "every decision is ... logged as an event, so a violation can name the faults that
// led to it").
#include <algorithm>
#include <optional>

#include "gtest/gtest.h"
#include "server/sim/fault_injector.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::kNapiCpu0;
using testing::MustApply;
using testing::NextOpIndex;
using testing::StartInflightStory;
using testing::ViolationsOf;

uint64_t FaultAux(FaultSite site, bool fired) {
  return static_cast<uint64_t>(site) << 1 | (fired ? 1 : 0);
}

// The legacy late unmap (docs/kernel/page-pool.md §4.3–§4.4) raised from the retry worker: the
// record names the op whose time advance ran the worker and the worker's virtual time.
TEST(MachineViolationTest, CarriesOpIndexTimeAndTheLast16PageEventsNewestFirst) {
  InflightStory s = StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "legacy");
  for (int i = 0; i < 10; ++i) {  // 20 more events on the page than the record keeps
    MustApply(*s.lab, op::GetPage{.page = s.held.page});
    MustApply(*s.lab, op::PutPage{.page = s.held.page});
  }
  s.Unbind();  // destroy at t=0: retry ticks at 1 s, 2 s, ...
  s.Remove();
  Advance(*s.lab, 500 * kMillisecond);
  s.ReturnHeld();
  const uint64_t advance_op = NextOpIndex(*s.lab);
  Advance(*s.lab, 1 * kSecond);

  ASSERT_EQ(s.lab->violation_count(ViolationId::kPP001), 1u);
  const Violation& v = *ViolationsOf(*s.lab, ViolationId::kPP001)[0];
  EXPECT_EQ(v.op_index, advance_op);
  EXPECT_EQ(v.time, DEFER_TIME) << "the first retry tick after the return";
  EXPECT_EQ(v.pfn, s.held.page.pfn);
  ASSERT_EQ(v.history.size(), 16u) << v.Explain();
  EXPECT_EQ(v.history[0].kind, PageEventKind::kViolation);
  EXPECT_EQ(v.history[0].aux, static_cast<uint64_t>(ViolationId::kPP001));
  EXPECT_EQ(v.history[1].kind, PageEventKind::kDmaUnmap);
  EXPECT_EQ(v.history[1].aux, s.held.dma_addr);
  for (size_t i = 0; i < v.history.size(); ++i) {
    EXPECT_EQ(v.history[i].pfn, s.held.page.pfn);
    if (i == 0) continue;
    EXPECT_LE(v.history[i].time, v.history[i - 1].time) << i;
    EXPECT_LE(v.history[i].op_index, v.history[i - 1].op_index) << i;
  }
  // Older than the PP005 raised on the page at unbind, only the newest get/put pairs remain:
  // the page's first events (buddy_alloc, dma_map, handout) were cut.
  const auto pp005 = std::find_if(v.history.begin(), v.history.end(), [](const PageEvent& e) {
    return e.kind == PageEventKind::kViolation &&
           e.aux == static_cast<uint64_t>(ViolationId::kPP005);
  });
  ASSERT_NE(pp005, v.history.end());
  EXPECT_TRUE(std::any_of(v.history.begin(), pp005, [](const PageEvent& e) {
    return e.kind == PageEventKind::kRecycleRing;
  })) << "the return, between unbind and the unmap";
  for (auto e = pp005 + 1; e != v.history.end(); ++e) {
    EXPECT_TRUE(e->kind == PageEventKind::kGetPage || e->kind == PageEventKind::kPutPage)
        << PageEventKindName(e->kind);
  }
  EXPECT_TRUE(v.faults.empty()) << "no fault was armed";
  const std::string text = v.Explain();
  EXPECT_NE(text.find("PP001 unmap-after-iommu-teardown [crash]"), std::string::npos) << text;
  EXPECT_NE(text.find("page history (newest first)"), std::string::npos) << text;
}

// docs/design.md §3.10 stale_device_dma: the decision made at the unmap is recorded on the page,
// and the IOMMU fault the stale write causes later names it.
TEST(MachineViolationTest, NamesTheStaleDeviceDmaDecisionOnThePage) {
  auto lab = testing::MakeLab(LabConfig{.iommu_strict = true, .profile = "v6.8"});
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId pool = MustApply(*lab, op::BindDriver{.device = dev, .flags = 1}).pools.at(0);
  MustApply(*lab, op::PagePoolAllocPages{.pool = pool}, kNapiCpu0);
  MustApply(*lab, op::SetFault{.site = "stale_device_dma", .times = 1,
                               .delay_ns = kMillisecond});
  MustApply(*lab, op::NetdevDown{.device = dev});  // destroy unmaps the 63 cached pages
  Advance(*lab, 2 * kMillisecond);

  ASSERT_EQ(lab->violation_count(ViolationId::kPP003), 1u);
  const Violation& v = *ViolationsOf(*lab, ViolationId::kPP003)[0];
  ASSERT_TRUE(v.pfn.has_value());
  ASSERT_FALSE(v.faults.empty());
  EXPECT_EQ(v.faults[0].kind, PageEventKind::kFault);
  EXPECT_EQ(v.faults[0].aux, FaultAux(FaultSite::kStaleDeviceDma, true));
  EXPECT_EQ(v.faults[0].pfn, *v.pfn);
  EXPECT_LT(v.faults[0].time, v.time);
  EXPECT_NE(v.Explain().find("injected faults that touched this page"), std::string::npos);
}

// The first pfn whose history holds a fired decision of `site`, among the first `n` pages.
std::optional<Pfn> PageTouchedBy(const Lab& lab, FaultSite site, Pfn n) {
  for (Pfn pfn = 0; pfn < n; ++pfn) {
    const absl::StatusOr<PageInfo> page = lab.GetPage(pfn);
    if (!page.ok()) continue;
    for (const PageEvent& e : page->history) {
      if (e.kind == PageEventKind::kFault && e.aux == FaultAux(site, true)) return pfn;
    }
  }
  return std::nullopt;
}

// docs/kernel/page-pool.md §5d: a failed xa_alloc frees the page again. A later use of that page
// after free (PP010) lists the fail_dma_track decision among the faults that touched it.
TEST(MachineViolationTest, NamesTheFailDmaTrackDecisionOnThePage) {
  auto lab = testing::MakeLab(LabConfig{.profile = "v6.15"});
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId pool = MustApply(*lab, op::BindDriver{.device = dev, .flags = 1}).pools.at(0);
  MustApply(*lab, op::SetFault{.site = "fail_dma_track", .times = 1});
  MustApply(*lab, op::PagePoolAllocPages{.pool = pool}, kNapiCpu0);
  const std::optional<Pfn> pfn = PageTouchedBy(*lab, FaultSite::kFailDmaTrack, 4096);
  ASSERT_TRUE(pfn.has_value());
  const PageInfo page = *lab->GetPage(*pfn);
  ASSERT_TRUE(testing::IsFree(page.state));

  MustApply(*lab, op::PutPage{.page = {*pfn, page.generation}});
  ASSERT_EQ(lab->violation_count(ViolationId::kPP010), 1u);
  const Violation& v = *ViolationsOf(*lab, ViolationId::kPP010)[0];
  EXPECT_EQ(v.pfn, *pfn);
  ASSERT_EQ(v.faults.size(), 1u);
  EXPECT_EQ(v.faults[0].aux, FaultAux(FaultSite::kFailDmaTrack, true));
}

// LabConfig::max_violation_records bounds the stored records; counts are never dropped.
TEST(MachineViolationTest, RecordsAreBoundedButCountsAreNot) {
  auto lab = testing::MakeLab(LabConfig{.max_violation_records = 1});
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  MustApply(*lab, op::DeviceDma{.device = dev, .iova = 0x1000});
  MustApply(*lab, op::DeviceDma{.device = dev, .iova = 0x2000});
  EXPECT_EQ(lab->violation_count(ViolationId::kPP003), 2u);
  EXPECT_EQ(lab->violations().size(), 1u);
  EXPECT_EQ(LabTestPeer::machine(*lab).violations_dropped(), 1u);
}

}  // namespace
}  // namespace ppsim::sim
