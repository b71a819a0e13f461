// Tests for server/sim/memory.h: sparse sections and the buddy allocator (docs/design.md §3.2).
#include "server/sim/memory.h"

#include <optional>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

constexpr uint64_t kBlock = uint64_t{1} << Memory::kMaxOrder;  // pages in a max-order block

// The caller of Memory::Free drops the last reference first (its contract).
void FreePage(Memory& mem, Pfn pfn) {
  mem.At(pfn).refcount = 0;
  mem.Free(pfn);
}

TEST(FrameTest, FitsTheHostBytesPerFrameTarget) {
  // docs/design.md §3.2: a frame mirrors struct page's pool fields; 16 TiB labs need it small.
  EXPECT_LE(sizeof(Frame), 64u);
}

TEST(MemoryTest, SixteenTiBLabMaterialisesOnlyTouchedSections) {
  constexpr uint64_t kPages = (uint64_t{16} << 40) / kPageSize;
  Memory mem(kPages, 1);
  EXPECT_EQ(mem.num_pages(), kPages);
  EXPECT_EQ(mem.materialised_sections(), 0u);
  EXPECT_EQ(mem.free_pages(), kPages);

  std::vector<Pfn> pfns;
  for (int i = 0; i < 8; ++i) {
    std::optional<Pfn> p = mem.Alloc(0, 0);
    ASSERT_TRUE(p.has_value());
    pfns.push_back(*p);
  }
  EXPECT_EQ(mem.materialised_sections(), 1u);
  EXPECT_LT(mem.host_bytes(), uint64_t{16} << 20);
  EXPECT_EQ(mem.free_pages(), kPages - 8);
  // A frame far away was never touched: its section does not exist.
  EXPECT_EQ(mem.Peek(kPages - 1), nullptr);
  EXPECT_EQ(mem.materialised_sections(), 1u);
  mem.Touch(kPages - 1);
  EXPECT_EQ(mem.materialised_sections(), 2u);
  EXPECT_NE(mem.Peek(kPages - 1), nullptr);
}

TEST(MemoryTest, AllocSetsHeadStateAndFreeEverythingRestoresAllPages) {
  Memory mem(4 * kBlock, 1);
  std::vector<Pfn> pfns(4 * kBlock);
  for (Pfn& p : pfns) {
    std::optional<Pfn> got = mem.Alloc(0, 0);
    ASSERT_TRUE(got.has_value());
    p = *got;
    const Frame& f = mem.At(p);
    EXPECT_EQ(f.state, FrameState::kAllocated);
    EXPECT_EQ(f.refcount, 1);
    EXPECT_EQ(f.order, 0);
    EXPECT_EQ(f.flags & kFrameCompoundHead, 0);
  }
  EXPECT_EQ(std::set<Pfn>(pfns.begin(), pfns.end()).size(), pfns.size());
  EXPECT_EQ(mem.free_pages(), 0u);
  EXPECT_FALSE(mem.Alloc(0, 0).has_value());

  for (Pfn p : pfns) FreePage(mem, p);
  EXPECT_EQ(mem.free_pages(), mem.num_pages());
  // Buddies merged back: the memory holds four max-order blocks again.
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(mem.Alloc(0, Memory::kMaxOrder).has_value()) << "block " << i;
  }
  EXPECT_FALSE(mem.Alloc(0, 0).has_value());
}

TEST(MemoryTest, HigherOrderBlocksAreAlignedCompoundPages) {
  Memory mem(4 * kBlock, 1);
  ASSERT_TRUE(mem.Alloc(0, 0).has_value());  // break the first block's alignment
  for (uint32_t order : {1u, 3u, 5u, 2u, 9u}) {
    std::optional<Pfn> head = mem.Alloc(0, order);
    ASSERT_TRUE(head.has_value()) << "order " << order;
    const Pfn n = Pfn{1} << order;
    EXPECT_EQ(*head % n, 0u) << "order " << order << " head " << *head;
    const Frame& f = mem.At(*head);
    EXPECT_EQ(f.state, FrameState::kAllocated);
    EXPECT_EQ(f.order, order);
    EXPECT_NE(f.flags & kFrameCompoundHead, 0);
    for (Pfn t = 1; t < n; ++t) {
      EXPECT_EQ(mem.At(*head + t).state, FrameState::kTail) << "tail " << t;
    }
  }
  EXPECT_FALSE(mem.Alloc(0, Memory::kMaxOrder + 1).has_value());
}

TEST(MemoryTest, FreedCompoundPageTailsBecomeFreeAndMerge) {
  Memory mem(kBlock, 1);
  std::optional<Pfn> head = mem.Alloc(0, 3);
  ASSERT_TRUE(head.has_value());
  FreePage(mem, *head);
  for (Pfn t = 0; t < 8; ++t) EXPECT_TRUE(mem.At(*head + t).is_free());
  EXPECT_EQ(mem.At(*head).flags, 0);
  EXPECT_EQ(mem.free_pages(), kBlock);
  EXPECT_TRUE(mem.Alloc(0, Memory::kMaxOrder).has_value());
}

TEST(MemoryTest, FreedPageIsTheNextOneHandedOut) {
  // LIFO free lists, like the per-CPU hot page lists (memory.h banner).
  Memory mem(kBlock, 1);
  std::vector<Pfn> p;
  for (int i = 0; i < 6; ++i) p.push_back(*mem.Alloc(0, 0));
  FreePage(mem, p[1]);
  EXPECT_EQ(mem.Alloc(0, 0), p[1]);
  // Two non-buddy frees: the most recent comes back first.
  FreePage(mem, p[1]);
  FreePage(mem, p[3]);
  EXPECT_EQ(mem.Alloc(0, 0), p[3]);
  EXPECT_EQ(mem.Alloc(0, 0), p[1]);
}

TEST(MemoryTest, GenerationBumpsOnEveryAlloc) {
  Memory mem(kBlock, 1);
  const Pfn pfn = *mem.Alloc(0, 0);
  const uint32_t g0 = mem.At(pfn).generation;
  for (uint32_t i = 1; i <= 3; ++i) {
    FreePage(mem, pfn);
    ASSERT_EQ(mem.Alloc(0, 0), pfn);
    EXPECT_EQ(mem.At(pfn).generation, g0 + i);
  }
}

TEST(MemoryTest, AllocBulkReturnsDistinctPagesUpToWhatIsFree) {
  Memory mem(kBlock, 1);
  std::vector<Pfn> out(64);
  EXPECT_EQ(mem.AllocBulk(0, 64, out.data()), 64u);
  EXPECT_EQ(std::set<Pfn>(out.begin(), out.end()).size(), 64u);
  for (Pfn p : out) EXPECT_EQ(mem.At(p).state, FrameState::kAllocated);
  EXPECT_EQ(mem.free_pages(), kBlock - 64);

  std::vector<Pfn> rest(2 * kBlock);
  EXPECT_EQ(mem.AllocBulk(0, 2 * kBlock, rest.data()), kBlock - 64);
  EXPECT_EQ(mem.free_pages(), 0u);
  EXPECT_EQ(mem.AllocBulk(0, 1, rest.data()), 0u);
}

TEST(MemoryTest, AllocationsComeFromTheRequestedNodeThenFallBack) {
  Memory mem(2 * kBlock, 2);
  EXPECT_EQ(mem.numa_nodes(), 2u);
  const Pfn on1 = *mem.Alloc(1, 0);
  EXPECT_EQ(mem.NodeOf(on1), 1u);
  const Pfn on0 = *mem.Alloc(0, 0);
  EXPECT_EQ(mem.NodeOf(on0), 0u);
  FreePage(mem, on1);
  FreePage(mem, on0);

  // Fill node 1; the zonelist fallback then serves node 1 requests from node 0.
  ASSERT_EQ(mem.NodeOf(*mem.Alloc(1, Memory::kMaxOrder)), 1u);
  std::optional<Pfn> fb = mem.Alloc(1, 0);
  ASSERT_TRUE(fb.has_value());
  EXPECT_EQ(mem.NodeOf(*fb), 0u);
  // Node 0 is now split and node 1 full: no max-order block anywhere.
  EXPECT_FALSE(mem.Alloc(0, Memory::kMaxOrder).has_value());
  EXPECT_FALSE(mem.Alloc(1, Memory::kMaxOrder).has_value());
}

TEST(MemoryTest, BuddiesOnDifferentNodesDoNotMerge) {
  // 1.5 blocks per node: node 0 is [0, 1536), node 1 is [1536, 3072). The order-9 blocks at
  // 1024 (node 0) and 1536 (node 1) are buddies by address but not by zone.
  Memory mem(3 * kBlock, 2);
  ASSERT_EQ(mem.Alloc(0, 9), Pfn{0});
  ASSERT_EQ(mem.Alloc(0, 9), Pfn{512});
  ASSERT_EQ(mem.Alloc(0, 9), Pfn{1024});
  ASSERT_EQ(mem.Alloc(1, 9), Pfn{1536});
  FreePage(mem, 1024);
  FreePage(mem, 1536);
  // The only max-order block left is node 1's untouched [2048, 3072); a merged [1024, 2048)
  // would straddle the nodes.
  std::optional<Pfn> blk = mem.Alloc(0, Memory::kMaxOrder);
  ASSERT_TRUE(blk.has_value());
  EXPECT_EQ(*blk, Pfn{2048});
  EXPECT_EQ(mem.NodeOf(*blk), mem.NodeOf(*blk + kBlock - 1));
  EXPECT_FALSE(mem.Alloc(0, Memory::kMaxOrder).has_value());
  EXPECT_EQ(mem.free_pages(), 2 * 512u);
}

}  // namespace
}  // namespace ppsim::sim
