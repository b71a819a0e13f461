// Tests for server/sim/page_pool_put.cc: the return paths of docs/kernel/page-pool.md §3.3–§3.5
// (direct recycling into the cache, the ptr_ring, release), with the §2.4 recycle statistics
// and the accounting bugs of §9.5.
#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::Alloc;
using ::ppsim::sim::testing::BindNic;
using ::ppsim::sim::testing::CountEvents;
using ::ppsim::sim::testing::InBuddy;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::kOtherCpu;
using ::ppsim::sim::testing::kProcessCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::Nic;
using ::ppsim::sim::testing::Page;
using ::ppsim::sim::testing::Pool;
using ::ppsim::sim::testing::Put;
using ::ppsim::sim::testing::MustApply;

class PagePoolPutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = MakeLab();
    nic_ = BindNic(*lab_);
  }
  PoolInfo pool() const { return Pool(*lab_, nic_.pool); }
  std::unique_ptr<Lab> lab_;
  Nic nic_;
};

// §3.4: page_pool_napi_local holds in softirq on the CPU that owns the pool's NAPI, so a put
// there goes to the alloc cache (`cached`) even without allow_direct.
TEST_F(PagePoolPutTest, SoftirqOnTheNapiCpuRecyclesIntoTheCache) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  Put(*lab_, pages[0], kNapiCpu0);
  PoolInfo p = pool();
  EXPECT_EQ(p.recycle.cached, 1u);
  EXPECT_EQ(p.recycle.ring, 0u);
  EXPECT_EQ(p.cache_count, 64u);
  EXPECT_EQ(p.inflight, 64u);  // recycled pages stay in flight
  EXPECT_EQ(Page(*lab_, pages[0]).state, FrameState::kPoolCache);
}

// §3.4: from process context, or softirq on another CPU, the put goes to the ptr_ring.
TEST_F(PagePoolPutTest, ProcessContextAndOtherCpusRecycleIntoTheRing) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  Put(*lab_, pages[0], kProcessCpu0);
  Put(*lab_, pages[1], kOtherCpu);
  PoolInfo p = pool();
  EXPECT_EQ(p.recycle.ring, 2u);
  EXPECT_EQ(p.recycle.cached, 0u);
  EXPECT_EQ(p.ring_count, 2u);
  EXPECT_EQ(p.cache_count, 62u);
  EXPECT_EQ(Page(*lab_, pages[0]).state, FrameState::kPoolRing);
}

// §3.3: page_pool_recycle_direct (allow_direct) trusts the caller and uses the cache.
TEST_F(PagePoolPutTest, AllowDirectUsesTheCache) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  Put(*lab_, pages[0], kProcessCpu0, /*allow_direct=*/true);
  EXPECT_EQ(pool().recycle.cached, 1u);
  EXPECT_EQ(pool().recycle.ring, 0u);
}

// §3.4 step 2: with 128 entries in the cache, a direct put counts `cache_full` and falls
// through to the ring.
TEST_F(PagePoolPutTest, FullCacheFallsThroughToTheRing) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 192);
  ASSERT_EQ(pages.size(), 192u);
  ASSERT_EQ(pool().cache_count, 0u);
  for (int i = 0; i < 128; ++i) Put(*lab_, pages[i], kNapiCpu0);
  ASSERT_EQ(pool().cache_count, 128u);
  ASSERT_EQ(pool().recycle.cached, 128u);

  Put(*lab_, pages[128], kNapiCpu0);
  PoolInfo p = pool();
  EXPECT_EQ(p.recycle.cache_full, 1u);
  EXPECT_EQ(p.recycle.ring, 1u);
  EXPECT_EQ(p.recycle.cached, 128u);
  EXPECT_EQ(p.cache_count, 128u);
  EXPECT_EQ(p.ring_count, 1u);
}

// §3.4 step 3: a full ring counts `ring_full` and releases the page: unmapped, release_cnt++,
// back to the buddy allocator.
TEST(PagePoolRingFullTest, FullRingReleasesThePage) {
  auto lab = MakeLab();
  Nic nic = BindNic(*lab, {.pool_size = 4});
  std::vector<PageRef> pages = Alloc(*lab, nic.pool, 64);
  ASSERT_EQ(pages.size(), 64u);
  const size_t mapped = lab->GetDevice(nic.dev)->mapped;
  for (int i = 0; i < 4; ++i) Put(*lab, pages[i], kProcessCpu0);
  ASSERT_EQ(Pool(*lab, nic.pool).ring_count, 4u);

  Put(*lab, pages[4], kProcessCpu0);
  PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.recycle.ring_full, 1u);
  EXPECT_EQ(p.recycle.ring, 4u);
  EXPECT_EQ(p.ring_count, 4u);
  EXPECT_EQ(p.release_cnt, 1u);
  EXPECT_EQ(p.inflight, 63u);
  EXPECT_TRUE(InBuddy(Page(*lab, pages[4])));
  EXPECT_EQ(lab->GetDevice(nic.dev)->mapped, mapped - 1);
  EXPECT_EQ(lab->violation_total(), 0u);
}

// §1.1 / §3.4: a get_page by someone else makes _refcount 2, so the pool's last put cannot
// recycle: `released_refcnt`, the page leaves the pool but stays alive for the other holder,
// whose put_page then frees it to the buddy allocator (no "page_pool leak").
TEST_F(PagePoolPutTest, GetPageMakesThePageNonRecyclable) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  MustApply(*lab_, op::GetPage{.page = pages[0].page});
  EXPECT_EQ(Page(*lab_, pages[0]).refcount, 2);

  Put(*lab_, pages[0], kNapiCpu0);
  PoolInfo p = pool();
  EXPECT_EQ(p.recycle.released_refcnt, 1u);
  EXPECT_EQ(p.recycle.cached, 0u);
  EXPECT_EQ(p.recycle.ring, 0u);
  EXPECT_EQ(p.release_cnt, 1u);
  EXPECT_EQ(p.inflight, 63u);
  PageInfo page = Page(*lab_, pages[0]);
  EXPECT_FALSE(InBuddy(page));
  EXPECT_EQ(page.refcount, 1);
  EXPECT_FALSE(page.is_pp);
  EXPECT_EQ(page.pool, 0u);
  EXPECT_EQ(page.dma_addr, 0u);

  MustApply(*lab_, op::PutPage{.page = pages[0].page});
  EXPECT_TRUE(InBuddy(Page(*lab_, pages[0])));
  EXPECT_EQ(lab_->violation_total(), 0u);
}

// §3.4: pages allocated under memory pressure are pfmemalloc and never recycled.
TEST_F(PagePoolPutTest, PfmemallocPageIsReleasedNotRecycled) {
  MustApply(*lab_, op::SetMemoryPressure{.on = true});
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  ASSERT_TRUE(Page(*lab_, pages[0]).pfmemalloc);
  Put(*lab_, pages[0], kNapiCpu0);
  PoolInfo p = pool();
  EXPECT_EQ(p.recycle.released_refcnt, 1u);
  EXPECT_EQ(p.recycle.cached, 0u);
  EXPECT_EQ(p.cache_count, 63u);
  EXPECT_EQ(p.release_cnt, 1u);
  EXPECT_TRUE(InBuddy(Page(*lab_, pages[0])));
  EXPECT_EQ(lab_->violation_total(), 0u);
}

// §3.2 / §3.3: a frag page goes back to the pool only when its last fragment is put (after
// the bias was drained); one put alone recycles nothing.
TEST_F(PagePoolPutTest, FragPageIsRecycledOnlyAfterBothFragmentsArePut) {
  auto frag = [&] {
    return MustApply(*lab_, op::PagePoolAllocFrag{.pool = nic_.pool, .size = 2048}, kNapiCpu0).pages;
  };
  std::vector<PageRef> a = frag(), b = frag();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].page, b[0].page);
  ASSERT_EQ(frag().size(), 1u);  // does not fit: drains the bias, new frag page
  EXPECT_EQ(Page(*lab_, a[0]).pp_ref_count, 2);

  Put(*lab_, a[0], kProcessCpu0);
  EXPECT_EQ(pool().recycle.ring, 0u);
  EXPECT_EQ(Page(*lab_, a[0]).state, FrameState::kPoolOut);
  Put(*lab_, b[0], kProcessCpu0);
  EXPECT_EQ(pool().recycle.ring, 1u);
  EXPECT_EQ(Page(*lab_, a[0]).state, FrameState::kPoolRing);
  EXPECT_EQ(Page(*lab_, a[0]).pp_ref_count, 1);
  EXPECT_EQ(lab_->violation_total(), 0u);
}

// §3.4 / §9.5: putting the same page twice would queue it twice; the model reports PP008 and keeps a
// single copy.
TEST_F(PagePoolPutTest, DoublePutIsPP008) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  Put(*lab_, pages[0], kProcessCpu0);
  Put(*lab_, pages[0], kProcessCpu0);
  EXPECT_EQ(lab_->violation_count(ViolationId::kPP008), 1u);
  EXPECT_EQ(pool().ring_count, 1u);

  Put(*lab_, pages[1], kNapiCpu0);  // the same through the cache
  Put(*lab_, pages[1], kNapiCpu0);
  EXPECT_EQ(lab_->violation_count(ViolationId::kPP008), 2u);
  EXPECT_EQ(pool().cache_count, 63u);
}

// §1.2 / §9.5: a plain put_page on a pool page frees it with the signature still set: the mm
// "page_pool leak" bad-page report (PP011); the pool never sees it return, so its inflight
// stays raised.
TEST_F(PagePoolPutTest, PutPageOnAPoolPageIsAPagePoolLeak) {
  std::vector<PageRef> pages = Alloc(*lab_, nic_.pool, 1);
  ASSERT_EQ(pages.size(), 1u);
  lab_->TakeEvents();
  MustApply(*lab_, op::PutPage{.page = pages[0].page});
  EXPECT_EQ(lab_->violation_count(ViolationId::kPP011), 1u);
  EXPECT_EQ(CountEvents(lab_->TakeEvents(), EventKind::kKernelLog, 0, "page_pool leak"), 1);
  PoolInfo p = pool();
  EXPECT_EQ(p.inflight, 64u);
  EXPECT_EQ(p.release_cnt, 0u);

  // Destroy can never bring it to zero.
  MustApply(*lab_, op::PagePoolDestroy{.pool = nic_.pool});
  MustApply(*lab_, op::AdvanceTime{.ns = 5 * kSecond});
  EXPECT_EQ(pool().state, PoolState::kDetached);
  EXPECT_EQ(pool().inflight, 1u);
}

// Without page checks on free (6.1: 700d2e9a36b9's check_pages is 6.3), a put_page that drops
// a pool page's last reference frees it silently (PP011) while the pool still counts it in
// flight. A frag reference taken on it after that is a get_page on a free page and its drop a
// second __free_pages: both PP010 (include/linux/mm.h get_page, put_page). The frame stays off
// the model's free lists, so the pool's own teardown (release-on-destroy walks its members)
// may still write it without corrupting them (lab_ops_fuzzer,
// tests/fuzz/corpus/lab_ops_fuzzer/crash-unchecked-free-then-frag-ref).
TEST(PagePoolPutUncheckedTest, AFragRefOnASilentlyFreedPageIsAUseAfterFreeAndADoubleFree) {
  std::unique_ptr<Lab> lab = MakeLab({.profile = "v6.1"});
  const Nic nic = BindNic(*lab, {.strategy = "release-on-destroy"});
  const std::vector<PageRef> pages = Alloc(*lab, nic.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  const OpResult built = MustApply(
      *lab, op::SkbBuild{.frags = {{.page = pages[1].page}}, .head = pages[0].page},
      kNapiCpu0);
  ASSERT_EQ(built.skbs.size(), 1u);
  MustApply(*lab, op::PutPage{.page = pages[1].page});  // the skb's reference, dropped by another
  EXPECT_EQ(lab->violation_count(ViolationId::kPP011), 1u);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP010), 0u);

  MustApply(*lab, op::SkbFragRef{.skb = built.skbs[0], .frag = 0}, kNapiCpu0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP010), 1u) << "get_page on a free page";
  MustApply(*lab, op::NapiConsumeSkb{.skb = built.skbs[0], .budget = 64}, kNapiCpu0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP010), 2u) << "the second free";
  EXPECT_FALSE(InBuddy(Page(*lab, pages[1]))) << "never on the model's free lists";

  // The teardown writes the frame; every other page is handed out once afterwards.
  MustApply(*lab, op::UnbindDriver{.device = nic.dev});
  std::set<Pfn> pfns;
  const Nic again = BindNic(*lab);
  for (const PageRef& r : Alloc(*lab, again.pool, 256)) {
    EXPECT_NE(r.page.pfn, pages[1].page.pfn);
    EXPECT_TRUE(pfns.insert(r.page.pfn).second) << r.page.pfn;
  }
}

// page_pool_put_netmem_bulk walks its array in order (net/core/page_pool.c, v6.12): when the
// first entry releases a page (here pfmemalloc, never recycled, §1.2) it is back in the buddy
// allocator before the second entry of the same page is read: a use-after-free (PP010). The
// model reports it and leaves the free page alone; a second free corrupted the simulated buddy
// lists (lab_ops_fuzzer, tests/fuzz/corpus/lab_ops_fuzzer/crash-bulk-double-put).
TEST(PagePoolPutBulkTest, TheSamePageTwiceInOneBulkIsAUseAfterFree) {
  std::unique_ptr<Lab> lab = MakeLab();
  MustApply(*lab, op::SetMemoryPressure{.on = true});
  const Nic nic = BindNic(*lab, {.flags = 1});
  const PageRef page = Alloc(*lab, nic.pool, 1).at(0);
  ASSERT_TRUE(Page(*lab, page).pfmemalloc);
  MustApply(*lab, op::PagePoolPutPageBulk{.pages = {page.page, page.page, page.page}},
            kProcessCpu0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP010), 2u);
  EXPECT_TRUE(InBuddy(Page(*lab, page)));
  EXPECT_EQ(Pool(*lab, nic.pool).recycle.released_refcnt, 1u);
  // The allocator is intact: draining the cache and refilling from the buddy lists hands
  // every pfn out once.
  std::vector<PageRef> again = Alloc(*lab, nic.pool, 256);
  ASSERT_EQ(again.size(), 256u);
  std::set<Pfn> pfns;
  for (const PageRef& r : again) pfns.insert(r.page.pfn);
  EXPECT_EQ(pfns.size(), 256u);
}

// The same page twice in a bulk whose first entry is still batched for the ptr_ring: that
// entry's page_pool_unref_netmem left pp_ref_count at 1 (net/core/page_pool.c, v6.12), so the
// second entry is a last reference too and the kernel would produce the page into the ring
// twice (then hand it out twice). The model reports PP008 and queues it once; the destroy that
// drains the ring then frees it once (lab_ops_fuzzer's crash-bulk-same-page-twice-*).
TEST(PagePoolPutBulkTest, TheSamePageTwiceBatchedForTheRingIsADoubleRecycle) {
  std::unique_ptr<Lab> lab = MakeLab();
  const Nic nic = BindNic(*lab);
  const std::vector<PageRef> pages = Alloc(*lab, nic.pool, 2);
  ASSERT_EQ(pages.size(), 2u);
  MustApply(*lab,
            op::PagePoolPutPageBulk{.pages = {pages[0].page, pages[1].page, pages[1].page}},
            kProcessCpu0);
  EXPECT_EQ(lab->violation_count(ViolationId::kPP008), 1u);
  const PoolInfo p = Pool(*lab, nic.pool);
  EXPECT_EQ(p.ring_count, 2u);
  EXPECT_EQ(p.recycle.ring, 2u);
  EXPECT_EQ(Page(*lab, pages[1]).state, FrameState::kPoolRing);
  MustApply(*lab, op::PagePoolDestroy{.pool = nic.pool});
  EXPECT_TRUE(InBuddy(Page(*lab, pages[1])));
  std::vector<PageRef> again = Alloc(*lab, BindNic(*lab).pool, 256);
  std::set<Pfn> pfns;
  for (const PageRef& r : again) pfns.insert(r.page.pfn);
  EXPECT_EQ(pfns.size(), again.size());
}

}  // namespace
}  // namespace ppsim::sim
