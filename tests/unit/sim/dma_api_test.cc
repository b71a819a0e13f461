// The streaming DMA API and the device's own DMA (server/sim/dma_api.cc; docs/design.md §3.3,
// docs/kernel/skb-and-iommu.md §4.1–§4.5, docs/kernel/page-pool.md §4.4). The calls are made
// directly, as the pool makes them; the device's accesses go through the device_dma op.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "server/sim/device.h"
#include "server/sim/dma_api.h"
#include "server/sim/lab_test_peer.h"
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

  Machine& m() { return LabTestPeer::machine(*lab); }
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

// docs/kernel/skb-and-iommu.md §4.5 (Robin Murphy): "a device with no driver bound must not be
// passed to the DMA API at all". Each call is PP002, and still reaches the domain (docs/design.md §3.3).
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

// After device_del, a late call (page_pool's release worker unmapping a page that came back)
// crashes where the kernel's device still points into freed IOMMU state, and is a harmless
// PP002 where it does not. The cells are the oracle's crash rigs (tests/oracle README, 6.1.176
// under QEMU: amd-iommu 12/12 oops in iommu_get_dma_domain, intel-iommu 0/10; pseries: PHB
// removal 5/5 oops in __iommu_free, device-only removal clean) and the release paths of the
// drivers: 6.1 intel_iommu_release_device ends with set_dma_ops(dev, NULL); amd and arm-smmu-v3
// keep iommu_dma_ops; b5c58b2fdc42 (6.12) moved iommu-dma to dev->dma_iommu, left set until
// 280e5a301005 (6.15-rc2, Debian 6.12.26) cleared it in iommu_deinit_device.
struct RemovedCase {
  const char* name;
  const char* profile;
  IommuModel model;
  uint32_t dma_mask_bits;
  bool phb;
  const char* crash_text;  // nullptr: no crash, PP002 only
  std::vector<std::pair<std::string, std::string>> switches = {};
};
class DmaApiAfterRemovalTest : public ::testing::TestWithParam<RemovedCase> {};

TEST_P(DmaApiAfterRemovalTest, LateCallsCrashExactlyWhereTheKernelDoes) {
  const RemovedCase& c = GetParam();
  DmaLab d;
  d.lab = testing::MakeLab(LabConfig{.iommu_model = c.model, .profile = c.profile,
                                     .profile_switches = c.switches});
  ASSERT_NE(d.lab, nullptr);
  d.dev = MustApply(*d.lab, op::AddDevice{.dma_mask_bits = c.dma_mask_bits}).device;
  MustApply(*d.lab, op::BindDriver{.device = d.dev, .flags = 0, .up = false});
  const Pfn a = d.NewPage().pfn;
  const DmaAddr addr = d.Map(a);
  ASSERT_NE(addr, 0u);
  MustApply(*d.lab, op::RemoveDevice{.device = d.dev, .phb = c.phb});
  d.lab->TakeEvents();

  d.Unmap(addr, a);
  if (c.crash_text == nullptr) {
    EXPECT_EQ(d.Count(ViolationId::kPP001), 0u);
    ASSERT_EQ(d.Count(ViolationId::kPP002), 1u);
    EXPECT_EQ(d.Last(ViolationId::kPP002).pfn, a);
    for (const Event& e : d.lab->TakeEvents()) {
      EXPECT_FALSE(e.kind == EventKind::kKernelLog && e.level == LogLevel::kCrit) << e.text;
    }
    return;
  }
  ASSERT_EQ(d.Count(ViolationId::kPP001), 1u);
  const Violation& v = d.Last(ViolationId::kPP001);
  EXPECT_EQ(v.severity, Severity::kCrash);
  EXPECT_EQ(v.pfn, a);
  EXPECT_EQ(v.device, d.dev);
  EXPECT_TRUE(Contains(v.message, c.crash_text)) << v.message;
  bool logged = false;
  for (const Event& e : d.lab->TakeEvents()) {
    logged |= e.kind == EventKind::kKernelLog && e.level == LogLevel::kCrit &&
              Contains(e.text, c.crash_text);
  }
  EXPECT_TRUE(logged);
  EXPECT_EQ(d.Map(d.NewPage().pfn), 0u) << "a removed device maps nothing";
  d.SyncForCpu(addr, a);
  EXPECT_EQ(d.Count(ViolationId::kPP001), 3u);
  EXPECT_EQ(d.Count(ViolationId::kPP002), 0u);
}

constexpr const char* kNullDomain = "iommu_get_dma_domain";
constexpr const char* kTceFree = "__iommu_free";
INSTANTIATE_TEST_SUITE_P(
    VendorsAndEras, DmaApiAfterRemovalTest,
    ::testing::Values(
        RemovedCase{"v61_amd_oops", "v6.1", IommuModel::kAmd, 64, false, kNullDomain},
        RemovedCase{"v61_arm_smmu_oops", "v6.1", IommuModel::kArmSmmu, 64, false, kNullDomain},
        RemovedCase{"v61_intel_clean", "v6.1", IommuModel::kIntel, 64, false, nullptr},
        RemovedCase{"v68_arm_smmu_oops", "v6.8", IommuModel::kArmSmmu, 64, false, kNullDomain},
        RemovedCase{"v612_prebackport_intel_oops", "v6.12", IommuModel::kIntel, 64, false,
                    kNullDomain, {{"iommu_release_rule", "dma-iommu-kept"}}},
        RemovedCase{"v612_amd_clean", "v6.12", IommuModel::kAmd, 64, false, nullptr},
        RemovedCase{"v615_arm_smmu_clean", "v6.15", IommuModel::kArmSmmu, 64, false, nullptr},
        RemovedCase{"v73_intel_clean", "v7.3", IommuModel::kIntel, 64, false, nullptr},
        RemovedCase{"v61ppc_ddw_oops", "v6.1-ppc64", IommuModel::kPpcDdw, 64, false,
                    "plpar_tce_stuff failed"},
        RemovedCase{"v61ppc_default_window_phb_oops", "v6.1-ppc64", IommuModel::kPpcDdw, 32, true,
                    kTceFree},
        RemovedCase{"v61ppc_default_window_phb_kept_clean", "v6.1-ppc64", IommuModel::kPpcDdw,
                    32, false, nullptr},
        // The iommu-dma release rule is not pseries': its dma_iommu_ops unmap into the table.
        RemovedCase{"v612ppc_default_window_phb_oops", "v6.12-ppc64", IommuModel::kPpcDdw, 32,
                    true, kTceFree}),
    [](const ::testing::TestParamInfo<RemovedCase>& info) { return std::string(info.param.name); });

TEST(DmaApiTest, PhbRemovalIsRefusedOffPseries) {
  DmaLab d = MakeDmaLab(IommuModel::kAmd);
  absl::StatusOr<OpResult> r =
      d.lab->Apply(Op{testing::kProcessCpu0, op::RemoveDevice{.device = d.dev, .phb = true}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(std::string(r.status().message()), "phb: true")) << r.status();
  EXPECT_EQ(d.device().state, DeviceState::kBound) << "a refused op changes nothing";
}

TEST(DmaApiTest, DmaMaskOutOfRangeIsRefusedNamingTheField) {
  std::unique_ptr<Lab> lab = testing::MakeLab();
  absl::StatusOr<OpResult> r =
      lab->Apply(Op{testing::kProcessCpu0, op::AddDevice{.dma_mask_bits = 65}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(std::string(r.status().message()), "dma_mask_bits: 65")) << r.status();
}

// arch/powerpc/kernel/iommu.c:iommu_init_table reserves entry 0 of a window at bus address 0;
// the default window is 32-bit, the DDW far above 4 GiB.
TEST(DmaApiTest, PpcDefaultWindowMapsBelow4GiBAndNeverAtZero) {
  for (uint32_t bits : {32u, 64u}) {
    DmaLab d;
    d.lab = testing::MakeLab(LabConfig{.iommu_model = IommuModel::kPpcDdw});
    d.dev = MustApply(*d.lab, op::AddDevice{.dma_mask_bits = bits}).device;
    MustApply(*d.lab, op::BindDriver{.device = d.dev, .flags = 0, .up = false});
    const DmaAddr addr = d.Map(d.NewPage().pfn);
    ASSERT_NE(addr, 0u);
    if (bits == 32) {
      EXPECT_LT(addr, DmaAddr{1} << 32);
    } else {
      EXPECT_GE(addr, IommuDomain::kDdwWindowBase);
    }
  }
}

// docs/kernel/skb-and-iommu.md §4.5: "On dma-direct systems a late unmap is usually a no-op" —
// still the contract breach, never the crash.
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

// docs/kernel/skb-and-iommu.md §4.4 row 1: the IOMMU blocks the access and logs a DMAR fault.
TEST(DeviceDmaTest, UnmappedIovaIsPP003WithTheDmarFault) {
  DmaLab d = MakeDmaLab(IommuModel::kIntel);
  d.DeviceWrite(0x7000'0000);
  ASSERT_EQ(d.Count(ViolationId::kPP003), 1u);
  const std::string& msg = d.Last(ViolationId::kPP003).message;
  EXPECT_TRUE(Contains(msg, "DMAR: [DMA Write NO_PASID]")) << msg;
  EXPECT_TRUE(Contains(msg, "[fault reason 0x05]")) << msg;
  // Counted for ppsim_iommu_faults_total{kind="unmapped_iova"} (docs/design.md §5).
  const auto& faults = LabTestPeer::machine(*d.lab).devices.at(d.dev)->iommu_faults;
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

// docs/design.md §3.10 iotlb_flush_delay: the flush timer fires delay_ns late, so the stale window
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

// docs/design.md §3.10 stale_device_dma: after the unmap the device writes through the descriptor
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
