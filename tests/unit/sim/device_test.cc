// Devices and their drivers (server/sim/device.cc; docs/design.md §3.4, §3.1 "a rejected op
// changes nothing"; docs/kernel/page-pool.md §3.9 for the XDP memory model,
// docs/kernel/skb-and-iommu.md §4.5 for the domain that belongs to the device, not the driver).
#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::kNapiCpu0;
using testing::Advance;
using testing::InflightStory;
using testing::MustApply;
using testing::StartInflightStory;

std::unique_ptr<Lab> NewLab(bool strict = false) {
  return testing::MakeLab(LabConfig{.iommu_strict = strict, .profile = "v6.8"});
}

TEST(DeviceTest, BindTwiceIsFailedPreconditionNamingTheDevice) {
  auto lab = NewLab();
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  MustApply(*lab, op::BindDriver{.device = dev});
  absl::StatusOr<OpResult> again = lab->Apply({.body = op::BindDriver{.device = dev}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StartsWith(again.status().message(), absl::StrCat("device: ", dev)))
      << again.status();
}

TEST(DeviceTest, UnknownDeviceIsNotFound) {
  auto lab = NewLab();
  absl::StatusOr<OpResult> r = lab->Apply({.body = op::BindDriver{.device = 9}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "device: device 9 does not exist");
  EXPECT_EQ(lab->GetDevice(9).status().code(), absl::StatusCode::kNotFound);
}

// docs/design.md §3.1: a rejected op returns an error naming the field and changes nothing — no
// state, no digest, no trace entry, no event.
TEST(DeviceTest, RejectedOpsChangeNothing) {
  auto lab = NewLab();
  const DeviceId bound = MustApply(*lab, op::AddDevice{}).device;
  MustApply(*lab, op::BindDriver{.device = bound, .rx_queues = 2});
  const DeviceId removed = MustApply(*lab, op::AddDevice{}).device;
  MustApply(*lab, op::RemoveDevice{.device = removed});
  const DeviceId idle = MustApply(*lab, op::AddDevice{}).device;
  lab->TakeEvents();
  const uint64_t digest = lab->digest();
  const size_t trace = lab->trace().size();
  const size_t pools = lab->AllPools().size();

  const std::vector<OpBody> rejected = {
      op::BindDriver{.device = bound},
      op::BindDriver{.device = 9},
      op::BindDriver{.device = idle, .rx_queues = 0},
      op::BindDriver{.device = idle, .driver = "e1000"},
      op::BindDriver{.device = idle, .strategy = "no-such-strategy"},
      op::BindDriver{.device = idle, .flags = PP_FLAG_DMA_SYNC_DEV},  // without DMA_MAP
      op::BindDriver{.device = removed},
      op::UnbindDriver{.device = idle},
      op::NetdevUp{.device = idle},
      op::NetdevDown{.device = idle},
      op::RemoveDevice{.device = removed},
      op::SurpriseRemove{.device = removed},
      op::DeviceDma{.device = removed, .iova = 0x1000},
      op::AddDevice{.numa_node = 3},
      op::AddDevice{.iommu_model = "sparc-iommu"},
      op::AddDevice{.dma_mask_bits = 16},
      op::RemoveDevice{.device = idle, .phb = true},  // an intel device has no pseries PHB
  };
  for (const OpBody& body : rejected) {
    const Op op{.body = body};
    EXPECT_FALSE(lab->Apply(op).ok()) << OpToString(op);
  }
  EXPECT_EQ(lab->digest(), digest);
  EXPECT_EQ(lab->trace().size(), trace);
  EXPECT_EQ(lab->AllPools().size(), pools);
  EXPECT_TRUE(lab->TakeEvents().empty());
  EXPECT_EQ(lab->GetDevice(idle)->state, DeviceState::kPresent);
  EXPECT_EQ(lab->GetDevice(bound)->rx_pools.size(), 2u);
  EXPECT_EQ(lab->GetDevice(4).status().code(), absl::StatusCode::kNotFound)
      << "a rejected add_device used no id";
}

// docs/design.md §3.4: "up/down (pools created and destroyed per queue, as netdevsim does in
// open/stop)".
TEST(DeviceTest, UpAndDownCreateAndDestroyOnePoolPerRxQueue) {
  auto lab = NewLab();
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const OpResult bound = MustApply(*lab, op::BindDriver{.device = dev, .rx_queues = 4,
                                                        .up = false});
  EXPECT_TRUE(bound.pools.empty());
  DeviceInfo info = *lab->GetDevice(dev);
  EXPECT_FALSE(info.up);
  ASSERT_EQ(info.napis.size(), 4u);

  const OpResult up = MustApply(*lab, op::NetdevUp{.device = dev});
  ASSERT_EQ(up.pools.size(), 4u);
  for (size_t q = 0; q < up.pools.size(); ++q) {
    const PoolInfo pool = *lab->GetPool(up.pools[q]);
    EXPECT_EQ(pool.state, PoolState::kActive);
    EXPECT_EQ(pool.device, dev);
    EXPECT_EQ(pool.napi_id, info.napis[q]) << "one pool per RX queue, on its NAPI";
    EXPECT_EQ(pool.ifindex, bound.ifindex);
  }
  EXPECT_EQ(lab->GetDevice(dev)->rx_pools, up.pools);

  MustApply(*lab, op::NetdevDown{.device = dev});
  for (PoolId id : up.pools) EXPECT_EQ(lab->GetPool(id)->state, PoolState::kFreed);
  info = *lab->GetDevice(dev);
  EXPECT_FALSE(info.up);
  EXPECT_TRUE(info.rx_pools.empty());
  EXPECT_TRUE(lab->ListPools().empty());

  const OpResult again = MustApply(*lab, op::NetdevUp{.device = dev});
  ASSERT_EQ(again.pools.size(), 4u);
  EXPECT_GT(again.pools[0], up.pools[3]) << "pool ids are never reused";
  EXPECT_EQ(lab->violation_total(), 0u);
}

// docs/kernel/page-pool.md §3.9: the XDP memory model holds a second user reference; only the
// destroy that takes user_cnt to 0 starts the teardown.
TEST(DeviceTest, XdpMemModelPoolNeedsTwoDestroys) {
  auto lab = NewLab();
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId pool = MustApply(*lab, op::BindDriver{.device = dev, .xdp = true}).pools.at(0);
  EXPECT_EQ(lab->GetPool(pool)->user_cnt, 2);
  MustApply(*lab, op::PagePoolDestroy{.pool = pool});
  EXPECT_EQ(lab->GetPool(pool)->state, PoolState::kActive);
  EXPECT_EQ(lab->GetPool(pool)->user_cnt, 1);
  MustApply(*lab, op::PagePoolDestroy{.pool = pool});
  EXPECT_EQ(lab->GetPool(pool)->state, PoolState::kFreed);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// netdev_down is the driver's stop plus xdp_rxq_info_unreg: both destroys, no underflow.
TEST(DeviceTest, NetdevDownDestroysXdpPoolTwice) {
  auto lab = NewLab();
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId pool = MustApply(*lab, op::BindDriver{.device = dev, .xdp = true}).pools.at(0);
  MustApply(*lab, op::NetdevDown{.device = dev});
  EXPECT_EQ(lab->GetPool(pool)->state, PoolState::kFreed);
  EXPECT_EQ(lab->GetPool(pool)->user_cnt, 0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP009), 0u);
}

// docs/kernel/skb-and-iommu.md §4.5: the IOMMU domain belongs to the device and survives unbind; a
// new driver bound to the same device gets the same domain. The old pool's in-flight mapping is
// still live in it, and the IOVAs the old pool unmapped are handed to the new driver
// (docs/kernel/page-pool.md §4.4 "its IOVA space reused by a new driver").
TEST(DeviceTest, RebindAfterUnbindReusesTheDomain) {
  auto lab = NewLab(/*strict=*/true);
  const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
  const PoolId old_pool =
      MustApply(*lab, op::BindDriver{.device = dev, .flags = 1, .strategy = "legacy"}).pools[0];
  const OpResult old_pages =
      MustApply(*lab, op::PagePoolAllocPages{.pool = old_pool, .count = 64}, kNapiCpu0);
  ASSERT_EQ(old_pages.pages.size(), 64u);
  std::set<DmaAddr> old_iovas;
  for (const PageRef& p : old_pages.pages) old_iovas.insert(p.dma_addr);
  const PageRef held = old_pages.pages[0];
  for (size_t i = 1; i < old_pages.pages.size(); ++i) {
    MustApply(*lab, op::NapiPpPutPage{.page = old_pages.pages[i].page}, kNapiCpu0);
  }
  MustApply(*lab, op::UnbindDriver{.device = dev});
  EXPECT_EQ(lab->GetDevice(dev)->mapped, 1u) << "the held page's mapping outlives the driver";

  const OpResult rebound =
      MustApply(*lab, op::BindDriver{.device = dev, .flags = 1, .strategy = "legacy"});
  EXPECT_EQ(lab->GetDevice(dev)->state, DeviceState::kBound);
  const OpResult new_pages =
      MustApply(*lab, op::PagePoolAllocPages{.pool = rebound.pools.at(0), .count = 64},
                kNapiCpu0);
  ASSERT_EQ(new_pages.pages.size(), 64u);
  EXPECT_EQ(lab->GetDevice(dev)->mapped, 65u);
  size_t reused = 0;
  for (const PageRef& p : new_pages.pages) {
    EXPECT_NE(p.dma_addr, held.dma_addr) << "a live IOVA is not handed out twice";
    reused += old_iovas.count(p.dma_addr);
  }
  EXPECT_EQ(reused, 63u);
  // The device can still reach the held page through its old IOVA: same domain.
  MustApply(*lab, op::DeviceDma{.device = dev, .iova = held.dma_addr, .expect = held.page});
  EXPECT_EQ(lab->violation_count(ViolationId::kPP003), 0u);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP004), 0u);
}

// docs/kernel/page-pool.md §4.4: once the domain serves a new driver, a late unmap by the old
// driver's pool tears down someone else's mapping space: PP002 although the device is bound.
TEST(DeviceTest, LateUnmapAfterRebindIsDmaApiAfterUnbind) {
  InflightStory s = StartInflightStory(LabConfig{.iommu_model = IommuModel::kArmSmmu, .profile = "v6.8"}, "legacy");
  s.Unbind();
  MustApply(*s.lab, op::BindDriver{.device = s.dev, .flags = 1});
  const uint64_t before = s.lab->violation_count(ViolationId::kPP002);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);  // the retry tick drains the ring and unmaps
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), before + 1);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
}

}  // namespace
}  // namespace ppsim::sim
