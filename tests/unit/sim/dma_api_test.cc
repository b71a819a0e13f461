// The streaming DMA API and the device's own DMA (server/sim/dma_api.cc; design.md §3.3,
// kernel/skb-and-iommu.md §4.1–§4.5, kernel/page-pool.md §4.4). The calls are made directly,
// as the pool makes them; the device's accesses go through the device_dma op.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/sim/device.h"
#include "server/sim/dma_api.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::MustApply;
using testing::ViolationsOf;

// A device with a driver bound that has no pools (bind up=false), and pages to map.
struct DmaLab {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;

  Machine& m() { return lab->machine(); }
  Device& device() { return *m().FindDevice(dev); }
  PageHandle NewPage() { return MustApply(*lab, op::AllocPage{}).pages.at(0).page; }
  DmaAddr Map(Pfn pfn) {
    return DmaMapPage(m(), device(), pfn, kPageSize, DmaDir::kFromDevice, {pfn, 0});
  }
  void Unmap(DmaAddr addr, Pfn pfn) {
    DmaUnmapPage(m(), device(), addr, kPageSize, DmaDir::kFromDevice, {pfn, 0});
  }
  void SyncForCpu(DmaAddr addr, Pfn pfn) {
    DmaSync(m(), device(), addr, kPageSize, DmaDir::kFromDevice, /*for_cpu=*/true, {pfn, 0});
  }
  void DeviceWrite(DmaAddr iova, PageHandle expect = {}) {
    MustApply(*lab, op::DeviceDma{.device = dev, .iova = iova, .expect = expect});
  }
  uint64_t Count(ViolationId id) const { return lab->violation_count(id); }
  const Violation& Last(ViolationId id) const { return *ViolationsOf(*lab, id).back(); }
};

DmaLab MakeDmaLab(IommuModel model, bool strict = false) {
  DmaLab d;
  d.lab = testing::MakeLab(LabConfig{.iommu_model = model, .iommu_strict = strict});
  d.dev = MustApply(*d.lab, op::AddDevice{}).device;
  MustApply(*d.lab, op::BindDriver{.device = d.dev, .flags = 0, .up = false});
  return d;
}

bool Contains(const std::string& s, absl::string_view what) {
  return absl::string_view(s).find(what) != absl::string_view::npos;
}

TEST(DmaApiTest, MapSyncUnmapWhileBoundIsClean) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel);
  const Pfn pfn = d.NewPage().pfn;
  const DmaAddr addr = d.Map(pfn);
  ASSERT_NE(addr, 0u);
  EXPECT_EQ(d.device().domain.mapped_count(), 1u);
  d.SyncForCpu(addr, pfn);
  d.Unmap(addr, pfn);
  EXPECT_EQ(d.device().domain.mapped_count(), 0u);
  EXPECT_EQ(d.lab->violation_total(), 0u);
}

// skb-and-iommu.md §4.5 (Robin Murphy): "a device with no driver bound must not be passed to
// the DMA API at all". Each call is PP002, and still reaches the domain (design.md §3.3).
TEST(DmaApiTest, MapUnmapSyncAfterUnbindArePP002) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel);
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  MustApply(*d.lab, op::UnbindDriver{.device = d.dev});
  EXPECT_EQ(d.Count(ViolationId::kPP005), 1u);

  d.SyncForCpu(addr, a);
  ASSERT_EQ(d.Count(ViolationId::kPP002), 1u);
  EXPECT_TRUE(Contains(d.Last(ViolationId::kPP002).message, "dma_sync_single_for_cpu"));
  d.Unmap(addr, a);
  ASSERT_EQ(d.Count(ViolationId::kPP002), 2u);
  EXPECT_TRUE(Contains(d.Last(ViolationId::kPP002).message, "dma_unmap_page_attrs"));
  EXPECT_EQ(d.Last(ViolationId::kPP002).pfn, a);
  EXPECT_EQ(d.device().domain.mapped_count(), 0u) << "the unmap reached the domain";
  const Pfn b = d.NewPage().pfn;
  EXPECT_NE(d.Map(b), 0u) << "the map reached the domain";
  ASSERT_EQ(d.Count(ViolationId::kPP002), 3u);
  EXPECT_TRUE(Contains(d.Last(ViolationId::kPP002).message, "dma_map_page_attrs"));
  EXPECT_EQ(d.Count(ViolationId::kPP001), 0u);
}

// kernel/page-pool.md §4.4: after device_del the domain (Intel: NULL deref in
// iommu_get_dma_domain) or the DDW's TCE table (pSeries: plpar_tce_stuff failed) is gone; every
// call is the crash, and nothing is touched.
struct RemovedCase {
  IommuModel model;
  const char* kernel_text;
};
class DmaApiAfterRemovalTest : public ::testing::TestWithParam<RemovedCase> {};

TEST_P(DmaApiAfterRemovalTest, EveryCallIsPP001WithTheKernelsWords) {
  DmaLab d = MakeDmaLab(GetParam().model);
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  MustApply(*d.lab, op::RemoveDevice{.device = d.dev});
  d.lab->TakeEvents();

  d.Unmap(addr, a);
  ASSERT_EQ(d.Count(ViolationId::kPP001), 1u);
  const Violation& v = d.Last(ViolationId::kPP001);
  EXPECT_EQ(v.severity, Severity::kCrash);
  EXPECT_EQ(v.pfn, a);
  EXPECT_EQ(v.device, d.dev);
  EXPECT_TRUE(Contains(v.message, GetParam().kernel_text)) << v.message;
  bool logged = false;
  for (const Event& e : d.lab->TakeEvents()) {
    logged |= e.kind == EventKind::kKernelLog && e.level == LogLevel::kCrit &&
              Contains(e.text, GetParam().kernel_text);
  }
  EXPECT_TRUE(logged);

  EXPECT_EQ(d.Map(d.NewPage().pfn), 0u) << "a removed device maps nothing";
  d.SyncForCpu(addr, a);
  EXPECT_EQ(d.Count(ViolationId::kPP001), 3u);
  EXPECT_EQ(d.Count(ViolationId::kPP002), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Models, DmaApiAfterRemovalTest,
    ::testing::Values(RemovedCase{IommuModel::kIntel, "iommu_get_dma_domain"},
                      RemovedCase{IommuModel::kPpcDdw, "plpar_tce_stuff failed"}),
    [](const ::testing::TestParamInfo<RemovedCase>& info) {
      return info.param.model == IommuModel::kIntel ? std::string("intel") : std::string("ppc_ddw");
    });

// skb-and-iommu.md §4.5: "On dma-direct systems a late unmap is usually a no-op" — still the
// contract breach, never the crash.
TEST(DmaApiTest, PassthroughUnmapAfterRemovalIsOnlyPP002) {
  DmaLab d = MakeDmaLab(IommuModel::kPassthrough);
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  EXPECT_EQ(addr, a << kPageShift) << "bus address = physical address";
  MustApply(*d.lab, op::RemoveDevice{.device = d.dev});
  d.Unmap(addr, a);
  EXPECT_EQ(d.Count(ViolationId::kPP002), 1u);
  EXPECT_EQ(d.Count(ViolationId::kPP001), 0u);
}

// skb-and-iommu.md §4.4 row 1: the IOMMU blocks the access and logs a DMAR fault.
TEST(DeviceDmaTest, UnmappedIovaIsPP003WithTheDmarFault) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel);
  d.DeviceWrite(0x7000'0000);
  ASSERT_EQ(d.Count(ViolationId::kPP003), 1u);
  const std::string& msg = d.Last(ViolationId::kPP003).message;
  EXPECT_TRUE(Contains(msg, "DMAR: [DMA Write NO_PASID]")) << msg;
  EXPECT_TRUE(Contains(msg, "[fault reason 0x05]")) << msg;
  // Counted for ppsim_iommu_faults_total{kind="unmapped_iova"} (design.md §5).
  const auto& faults = d.lab->machine().devices.at(d.dev)->iommu_faults;
  EXPECT_EQ(faults[static_cast<int>(IommuFaultKind::kUnmappedIova)], 1u);
  EXPECT_EQ(faults[static_cast<int>(IommuFaultKind::kStaleIotlb)], 0u);
}

// §4.3/§4.4 row 2: in lazy mode the unmapped IOVA waits in the flush queue; until the flush
// (10 ms, IOVA_FQ_TIMEOUT) the stale IOTLB entry still reaches the old page, silently (PP004).
// After the flush the access faults (PP003).
TEST(DeviceDmaTest, LazyModeStaleIotlbWindowLastsUntilTheFlush) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel, /*strict=*/false);
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  d.Unmap(addr, a);
  Advance(*d.lab, 9 * kMillisecond);
  d.DeviceWrite(addr);
  ASSERT_EQ(d.Count(ViolationId::kPP004), 1u);
  EXPECT_EQ(d.Last(ViolationId::kPP004).pfn, a);
  EXPECT_EQ(d.Count(ViolationId::kPP003), 0u);
  Advance(*d.lab, 1 * kMillisecond);
  d.DeviceWrite(addr);
  EXPECT_EQ(d.Count(ViolationId::kPP003), 1u);
  EXPECT_EQ(d.Count(ViolationId::kPP004), 1u);
}

// §4.3 strict mode + LIFO rcache reuse, §4.4 row 3: the freed IOVA is the next one handed out;
// a device still using its old descriptor writes into the new buffer (PP004).
TEST(DeviceDmaTest, StrictModeIovaReuseWithStaleDescriptorIsPP004) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel, /*strict=*/true);
  const PageHandle a = d.NewPage();
  const DmaAddr addr = d.Map(a.pfn);
  d.Unmap(addr, a.pfn);
  const PageHandle b = d.NewPage();
  ASSERT_EQ(d.Map(b.pfn), addr) << "most recently freed IOVA first";
  d.DeviceWrite(addr, /*expect=*/b);
  EXPECT_EQ(d.lab->violation_total(), 0u) << "the new owner's own descriptor is fine";
  d.DeviceWrite(addr, /*expect=*/a);
  ASSERT_EQ(d.Count(ViolationId::kPP004), 1u);
  EXPECT_EQ(d.Last(ViolationId::kPP004).pfn, b.pfn) << "the victim is the new mapping's page";
}

// design.md §3.10 iotlb_flush_delay: the flush timer fires delay_ns late, so the stale window
// outlives the 10 ms.
TEST(DeviceDmaTest, IotlbFlushDelayFaultExtendsTheWindow) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel, /*strict=*/false);
  MustApply(*d.lab, op::SetFault{.site = "iotlb_flush_delay", .delay_ns = 50 * kMillisecond});
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  d.Unmap(addr, a);
  Advance(*d.lab, 30 * kMillisecond);
  d.DeviceWrite(addr);
  EXPECT_EQ(d.Count(ViolationId::kPP004), 1u);
  Advance(*d.lab, 31 * kMillisecond);  // 10 ms + 50 ms delay have passed
  d.DeviceWrite(addr);
  EXPECT_EQ(d.Count(ViolationId::kPP003), 1u);
  EXPECT_EQ(d.Count(ViolationId::kPP004), 1u);
}

// design.md §3.10 stale_device_dma: after the unmap the device writes through the descriptor
// it kept, delay_ns later; in strict mode the IOVA is gone and the IOMMU faults.
TEST(DeviceDmaTest, StaleDeviceDmaFaultWritesAfterTheUnmap) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel, /*strict=*/true);
  MustApply(*d.lab, op::SetFault{.site = "stale_device_dma", .delay_ns = kMillisecond});
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  d.Unmap(addr, a);
  EXPECT_EQ(d.lab->violation_total(), 0u) << "the write comes delay_ns later";
  Advance(*d.lab, 2 * kMillisecond);
  ASSERT_EQ(d.Count(ViolationId::kPP003), 1u);
  EXPECT_EQ(d.Last(ViolationId::kPP003).pfn, a);
  EXPECT_EQ(d.Last(ViolationId::kPP003).time, kMillisecond);
}

}  // namespace
}  // namespace ppsim::sim
