// Tests for server/sim/page_pool.cc: page_pool_init's parameter checks, the ptr_ring size,
// in-flight accounting, page_pool_update_nid. Paths live in page_pool_{alloc,put,destroy}_test.cc.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::Alloc;
using ::ppsim::sim::testing::BindNic;
using ::ppsim::sim::testing::InBuddy;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::kProcessCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::Nic;
using ::ppsim::sim::testing::Page;
using ::ppsim::sim::testing::Pool;
using ::ppsim::sim::testing::Put;
using ::ppsim::sim::testing::MustApply;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class PagePoolParamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = MakeLab();
    dev_ = MustApply(*lab_, op::AddDevice{}).device;
  }
  // page_pool_create must fail with InvalidArgument, the message naming `field` first, and
  // leave no pool behind.
  void ExpectRejected(op::PagePoolCreate create, absl::string_view field) {
    create.device = dev_;
    const size_t trace_before = lab_->trace().size();
    absl::StatusOr<OpResult> r = lab_->Apply(Op{kProcessCpu0, create});
    ASSERT_FALSE(r.ok()) << "flags=" << create.flags << " order=" << create.order;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(std::string(r.status().message()), StartsWith(absl::StrCat(field, ":")));
    EXPECT_TRUE(lab_->AllPools().empty());
    EXPECT_EQ(lab_->trace().size(), trace_before);
  }
  std::unique_ptr<Lab> lab_;
  DeviceId dev_ = 0;
};

// §2.1: an unknown flag is -EINVAL.
TEST_F(PagePoolParamsTest, UnknownFlagIsRejectedNamingFlags) {
  ExpectRejected({.flags = 1u << 4}, "flags");
  ExpectRejected({.flags = PP_FLAG_DMA_MAP | (1u << 31)}, "flags");
}

// §2.1: DMA_MAP only with DMA_FROM_DEVICE or DMA_BIDIRECTIONAL.
TEST_F(PagePoolParamsTest, DmaMapWithToDeviceIsRejectedNamingDmaDir) {
  ExpectRejected({.flags = PP_FLAG_DMA_MAP, .dma_dir = DmaDir::kToDevice}, "dma_dir");
  for (DmaDir ok : {DmaDir::kFromDevice, DmaDir::kBidirectional}) {
    EXPECT_TRUE(lab_->Apply(Op{kProcessCpu0, op::PagePoolCreate{.device = dev_,
                                                            .flags = PP_FLAG_DMA_MAP,
                                                            .dma_dir = ok}})
                    .ok());
  }
}

// §2.1: DMA_SYNC_DEV needs DMA_MAP.
TEST_F(PagePoolParamsTest, SyncDevWithoutDmaMapIsRejectedNamingFlags) {
  ExpectRejected({.flags = PP_FLAG_DMA_SYNC_DEV, .max_len = 4096}, "flags");
}

// §2.1: DMA_SYNC_DEV with max_len == 0 is -EINVAL; with a length it is accepted.
TEST_F(PagePoolParamsTest, SyncDevWithZeroMaxLenIsRejectedNamingMaxLen) {
  ExpectRejected({.flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV, .max_len = 0}, "max_len");
  EXPECT_TRUE(lab_->Apply(Op{kProcessCpu0, op::PagePoolCreate{
                                           .device = dev_,
                                           .flags = PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV,
                                           .max_len = 4096}})
                  .ok());
}

// §2.1: order > MAX_PAGE_ORDER (10) is -EINVAL; 10 itself is fine.
TEST_F(PagePoolParamsTest, OrderAboveMaxPageOrderIsRejectedNamingOrder) {
  ExpectRejected({.order = 11}, "order");
  EXPECT_TRUE(lab_->Apply(Op{kProcessCpu0, op::PagePoolCreate{.device = dev_, .order = 10}}).ok());
}

// §2.1: the failure is what the kernel logs as page_pool_create_percpu() giving up, -EINVAL.
TEST_F(PagePoolParamsTest, RejectionCarriesTheKernelErrno) {
  absl::StatusOr<OpResult> r =
      lab_->Apply(Op{kProcessCpu0, op::PagePoolCreate{.device = dev_, .order = 11}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("page_pool_create_percpu() gave up with errno -22"));
}

// §2.2 / §7: ptr_ring size is pool_size, 1024 when 0, capped at 16384.
TEST(PagePoolRingTest, RingSizeDefaultsTo1024AndIsCappedAt16384) {
  auto lab = MakeLab();
  auto ring_of = [&](uint32_t pool_size) {
    return Pool(*lab, MustApply(*lab, op::PagePoolCreate{.pool_size = pool_size}).pool).ring_size;
  };
  EXPECT_EQ(ring_of(0), 1024u);
  EXPECT_EQ(ring_of(256), 256u);
  EXPECT_EQ(ring_of(16384), 16384u);
  EXPECT_EQ(ring_of(16385), 16384u);
  EXPECT_EQ(ring_of(1u << 30), 16384u);
}

// §2.3 / §6.1: inflight = hold - release counts the pages in the cache; netlink inflight-mem
// is inflight × (PAGE_SIZE << order).
TEST(PagePoolAccountingTest, InflightIncludesCachedPagesAndInflightMemScalesWithOrder) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.hold_cnt, 64u);
  EXPECT_EQ(p.release_cnt, 0u);
  EXPECT_EQ(p.inflight, 64u);
  EXPECT_EQ(p.inflight_mem, 64u * 4096);
  ASSERT_EQ(lab->ListPools().size(), 1u);
  EXPECT_EQ(lab->ListPools()[0].inflight, 64u);

  const PoolId big = MustApply(*lab, op::PagePoolCreate{.order = 3}).pool;
  ASSERT_EQ(Alloc(*lab, big, 2).size(), 2u);
  EXPECT_EQ(Pool(*lab, big).inflight, 2u);
  EXPECT_EQ(Pool(*lab, big).inflight_mem, 2u * (4096u << 3));
}

// §2.3: hold_cnt and release_cnt are u32 and subtracted as serial numbers, so wrapping either
// one past 0xffffffff still yields the right s32 inflight, down to 0 (the pool is freed).
TEST(PagePoolAccountingTest, HoldAndReleaseCountersWrapAroundHarmlessly) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab);
  LabTestPeer::machine(*lab).FindPool(nic.pool)->SetCountersForTest(0xffffffe0u, 0xffffffe0u);

  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 1);  // hold += 64: wraps
  ASSERT_EQ(pages.size(), 1u);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.hold_cnt, 0x20u);
  EXPECT_EQ(p.release_cnt, 0xffffffe0u);
  EXPECT_EQ(p.inflight_strict, 64);
  EXPECT_EQ(p.inflight, 64u);

  // update_nid releases the 63 cached pages: release_cnt wraps too.
  MustApply(*lab, op::PagePoolUpdateNid{.pool = nic.pool, .nid = 0});
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.release_cnt, 0x1fu);
  EXPECT_EQ(p.inflight_strict, 1);

  Put(*lab, pages[0], kProcessCpu0);
  MustApply(*lab, op::PagePoolDestroy{.pool = nic.pool});
  p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.inflight_strict, 0);
  EXPECT_EQ(p.state, PoolState::kFreed);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §3.7: page_pool_update_nid sets the node and releases everything in the alloc cache to the
// buddy allocator; the page handed out and the ring are untouched.
TEST(PagePoolUpdateNidTest, UpdateNidReleasesTheAllocCache) {
  auto lab = MakeLab({.numa_nodes = 2});
  Nic nic = BindNic(*lab, {.nid = 0});
  const uint64_t free_before = LabTestPeer::machine(*lab).memory.free_pages();
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  Put(*lab, pages[1], kProcessCpu0);  // into the ring
  ASSERT_EQ(Pool(*lab, nic.pool).cache_count, 62u);
  ASSERT_EQ(Pool(*lab, nic.pool).ring_count, 1u);

  MustApply(*lab, op::PagePoolUpdateNid{.pool = nic.pool, .nid = 1}, kNapiCpu0);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.cache_count, 0u);
  EXPECT_EQ(p.ring_count, 1u);
  EXPECT_EQ(p.release_cnt, 62u);
  EXPECT_EQ(p.inflight_strict, 2);
  EXPECT_EQ(LabTestPeer::machine(*lab).memory.free_pages(), free_before - 2);
  EXPECT_FALSE(InBuddy(Page(*lab, pages[0])));
  EXPECT_EQ(Page(*lab, pages[0]).pool, nic.pool);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §3.7: only page_pool_nid_changed compares nodes; page_pool_update_nid releases the cache even
// when the node does not change.
TEST(PagePoolUpdateNidTest, UpdateNidToTheSameNodeStillReleasesTheCache) {
  auto lab = MakeLab({.numa_nodes = 2});
  Nic nic = BindNic(*lab, {.nid = 0});
  ASSERT_EQ(Alloc(*lab, nic.pool, 1).size(), 1u);
  ASSERT_EQ(Pool(*lab, nic.pool).cache_count, 63u);
  MustApply(*lab, op::PagePoolUpdateNid{.pool = nic.pool, .nid = 0}, kNapiCpu0);
  EXPECT_EQ(Pool(*lab, nic.pool).cache_count, 0u);
  EXPECT_EQ(Pool(*lab, nic.pool).release_cnt, 63u);
}

}  // namespace
}  // namespace ppsim::sim
