// Frame reuse in an observation (client/oracle/observation.cc LinkSamePfns): a page handed out
// again through its pool is linked to the first index of its frame; a frame that went back to
// the page allocator and entered a pool again (page_pool_state_hold, include/trace/events/
// page_pool.h) starts a new life, whose first page links to nothing.
#include "client/oracle/observation.h"

#include <utility>
#include <vector>

#include "client/oracle/kernel_observation.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

OpObs Op(std::vector<std::pair<int, uint64_t>> pages, std::vector<uint64_t> held = {}) {
  OpObs o;
  for (auto [page, pfn] : pages) o.pages.push_back(PageObs{.page = page, .pfn = pfn});
  o.held_pfns = std::move(held);
  return o;
}

TEST(LinkSamePfnsTest, RecyclingThroughThePoolLinksToTheFirstIndexOfTheLife) {
  std::vector<OpObs> ops = {Op({{1, 100}, {2, 101}}, {100, 101}),  // a refill: two holds
                            Op({{1, 100}}),                         // page 1 back to the cache
                            Op({{3, 100}}),                         // handed out again
                            Op({{4, 100}})};
  LinkSamePfns(ops);
  EXPECT_EQ(ops[0].pages[0].same_pfn_as, 0);
  EXPECT_EQ(ops[1].pages[0].same_pfn_as, 0) << "page 1 itself";
  EXPECT_EQ(ops[2].pages[0].same_pfn_as, 1);
  EXPECT_EQ(ops[3].pages[0].same_pfn_as, 1);
}

TEST(LinkSamePfnsTest, AFrameTheAllocatorHandsOutAgainStartsANewLife) {
  std::vector<OpObs> ops = {Op({{1, 100}}, {100}),
                            Op({{1, 100}}),         // released to the page allocator
                            Op({}, {100, 102}),     // a bulk refill takes it back into a pool
                            Op({{2, 102}}),
                            Op({{3, 100}}),         // handed out from that refill: new life
                            Op({{4, 100}})};        // and recycled within it
  LinkSamePfns(ops);
  EXPECT_EQ(ops[4].pages[0].same_pfn_as, 0);
  EXPECT_EQ(ops[5].pages[0].same_pfn_as, 3);
}

// The module's observation carries the trace since the last op; page_pool_state_hold lines give
// the pfn on every kernel (6.1 with page=, 6.12 and 7.3 with netmem=).
TEST(LinkSamePfnsTest, KernelHoldsComeFromTheTrace) {
  const char* kRun = R"({"kernel": "6.12.95+deb12-amd64", "observations": [
    {"op": 0, "line": "page_pool_alloc_pages pool=1 count=1",
     "kmod": {"rc": 0, "pages": [{"page": 1, "pfn": 9624}]},
     "trace": ["ppo-run-149 [000] b.... 4.52: page_pool_state_hold: page_pool=00000000cddb5fdc netmem=000000000d981da8 is_net_iov=0, pfn=0x2598 hold=1"]},
    {"op": 1, "line": "page_pool_put_page page=1", "kmod": {"rc": 0, "pages": [{"page": 1, "pfn": 9624}]},
     "trace": ["ppo-run-149 [000] ..... 4.53: page_pool_state_release: page_pool=00000000cddb5fdc netmem=0000000082530b41 is_net_iov=0 pfn=0x2598 release=1"]},
    {"op": 2, "line": "page_pool_alloc_pages pool=1 count=1",
     "kmod": {"rc": 0, "pages": [{"page": 2, "pfn": 9624}]},
     "trace": ["<...>-149 [000] b.... 4.54: page_pool_state_hold: page_pool=00000000cddb5fdc page=00000000a1 pfn=0x2598 hold=2"]}]})";
  absl::StatusOr<KernelRun> run = ParseKernelObservation("inline.json", kRun);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->ops.size(), 3u);
  EXPECT_EQ(run->ops[0].held_pfns, std::vector<uint64_t>{0x2598});
  EXPECT_TRUE(run->ops[1].held_pfns.empty()) << "a release is not a hold";
  EXPECT_EQ(run->ops[2].held_pfns, std::vector<uint64_t>{0x2598});
  EXPECT_EQ(run->ops[2].pages.at(0).same_pfn_as, 0) << "the allocator's reuse is not compared";
}

}  // namespace
}  // namespace ppsim::oracle
