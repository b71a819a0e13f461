// A lockless reader that lags behind unmap_mapping_range (docs/kernel/skb-and-iommu.md §5.1–§5.3,
// §8 scenario 11; the P2PDMA thread of Oct 2021,
// https://lore.kernel.org/r/20210916234100.122368-20-logang@deltatee.com). GUP-fast loads the PTE
// without a reference; the owner unmaps and frees the page before the reader's read-side section
// ends (no grace period), the page allocator hands the page to a page_pool, and the reader's
// try_get succeeds on a page it never legitimately owned. Freeing before GP(u) is PP010. The
// correct owner defers its put with call_rcu / the mmu_gather path (put_page_rcu here): the page
// is freed only after every reader that could have seen it has left.
#include <gtest/gtest.h>

#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Story {
  std::unique_ptr<Lab> lab;
  PoolId pool = 0;
  PageRef x;
  uint32_t reader = 0;
};

// X is mapped into a user VMA (TCP receive zerocopy), a GUP-fast reader loads the PTE, and the
// owner unmaps it (unmap_mapping_range returns without waiting for the reader).
Story Start() {
  Story s;
  s.lab = MakeLab();
  s.pool = BindNic(*s.lab, {.flags = 1}).pool;
  s.x = MustApply(*s.lab, op::AllocPage{}).pages.at(0);
  MustApply(*s.lab, op::UserMap{.page = s.x.page});
  s.reader = static_cast<uint32_t>(MustApply(*s.lab, op::ReaderBegin{.page = s.x.page}).value);
  EXPECT_NE(s.reader, 0u);
  MustApply(*s.lab, op::UserUnmap{.page = s.x.page});
  return s;
}

TEST(GupFastLaggingReader, FreeBeforeTheGracePeriodLetsTheReaderGrabThePoolsPage) {
  Story s = Start();
  MustApply(*s.lab, op::PutPage{.page = s.x.page});
  const auto pp010 = testing::ViolationsOf(*s.lab, ViolationId::kPP010);
  ASSERT_EQ(pp010.size(), 1u);
  EXPECT_EQ(pp010[0]->pfn, s.x.page.pfn);
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.x)));

  // t4: the pool's refill takes X straight back from the allocator (LIFO) and maps it.
  testing::Alloc(*s.lab, s.pool);
  const PageInfo reused = testing::Page(*s.lab, s.x);
  EXPECT_TRUE(reused.is_pp);
  EXPECT_EQ(reused.pool, s.pool);
  EXPECT_NE(reused.dma_addr, 0u);
  EXPECT_EQ(reused.refcount, 1);

  // t5: the reader's folio_try_get succeeds on the pool's page.
  EXPECT_EQ(MustApply(*s.lab, op::ReaderTryGet{.reader = s.reader}).value, 1u);
  EXPECT_EQ(testing::Page(*s.lab, s.x).refcount, 2);
  EXPECT_EQ(s.lab->violation_total(), 1u);

  // t7/t8: the reader re-reads the PTE, sees it changed and puts X — a reference it took on a
  // page the pool now owns; the pool's own reference is all that is left (§5.2 step 8).
  MustApply(*s.lab, op::ReaderEnd{.reader = s.reader});
  EXPECT_EQ(testing::Page(*s.lab, s.x).refcount, 1);
  EXPECT_FALSE(LabTestPeer::machine(*s.lab).readers.at(s.reader).holds_ref);
  EXPECT_EQ(s.lab->violation_total(), 1u);
}

TEST(GupFastLaggingReader, PutPageRcuWaitsForTheReader) {
  Story s = Start();
  MustApply(*s.lab, op::PutPageRcu{.page = s.x.page});
  PageInfo before = testing::Page(*s.lab, s.x);
  EXPECT_EQ(before.state, FrameState::kAllocated) << "the reader is still inside: not freed";
  EXPECT_EQ(before.refcount, 1);

  // The pool's refill cannot get X while the grace period is open.
  testing::Alloc(*s.lab, s.pool);
  before = testing::Page(*s.lab, s.x);
  EXPECT_EQ(before.state, FrameState::kAllocated);
  EXPECT_FALSE(before.is_pp);

  EXPECT_EQ(MustApply(*s.lab, op::ReaderTryGet{.reader = s.reader}).value, 1u)
      << "X is still the owner's page: the reader's try_get is harmless";
  MustApply(*s.lab, op::ReaderEnd{.reader = s.reader});
  EXPECT_TRUE(testing::InBuddy(testing::Page(*s.lab, s.x)))
      << "the deferred put ran at the end of the grace period";
  EXPECT_EQ(s.lab->violation_total(), 0u);
}

}  // namespace
}  // namespace ppsim::sim
