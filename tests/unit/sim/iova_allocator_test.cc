// Tests for server/sim/iova_allocator.h: the reuse order of drivers/iommu/iova.c
// (docs/kernel/skb-and-iommu.md §4.3).
#include "server/sim/iova_allocator.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

constexpr DmaAddr k4GiB = DmaAddr{1} << 32;

TEST(IovaAllocatorTest, RoundsSizesUpToAPowerOfTwoOfPages) {
  // §4.3: sizes below the rcache limit are rounded up to a power of two.
  EXPECT_EQ(IovaAllocator::RoundedPages(0), 1u);
  EXPECT_EQ(IovaAllocator::RoundedPages(1), 1u);
  EXPECT_EQ(IovaAllocator::RoundedPages(kPageSize), 1u);
  EXPECT_EQ(IovaAllocator::RoundedPages(kPageSize + 1), 2u);
  EXPECT_EQ(IovaAllocator::RoundedPages(3 * kPageSize), 4u);
  EXPECT_EQ(IovaAllocator::RoundedPages(5 * kPageSize), 8u);
  EXPECT_EQ(IovaAllocator::RoundedPages(32 * kPageSize), 32u);
}

TEST(IovaAllocatorTest, FreshSpaceIsTopDownBelow4GiBAndSizeAligned) {
  // §4.3: PCI devices try a 32-bit IOVA first; the rbtree is searched top-down.
  IovaAllocator iova(2);
  const DmaAddr a = iova.Alloc(kPageSize, 0);
  EXPECT_EQ(a, k4GiB - kPageSize);
  const DmaAddr b = iova.Alloc(kPageSize, 0);
  EXPECT_EQ(b, k4GiB - 2 * kPageSize);
  // 3 pages round to 4 and are aligned to 16 KiB, below the previous range.
  const DmaAddr c = iova.Alloc(3 * kPageSize, 0);
  EXPECT_EQ(c % (4 * kPageSize), 0u);
  EXPECT_LE(c + 4 * kPageSize, b);
  EXPECT_EQ(c, k4GiB - 8 * kPageSize);
  const DmaAddr d = iova.Alloc(64 * kPageSize, 1);
  EXPECT_EQ(d % (64 * kPageSize), 0u);
  EXPECT_LE(d + 64 * kPageSize, c);
}

TEST(IovaAllocatorTest, FallsBackAbove4GiBWhenThe32BitSpaceIsUsedUp) {
  IovaAllocator iova(1);
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  std::vector<DmaAddr> below;
  for (int i = 0; i < 3; ++i) below.push_back(iova.Alloc(kGiB, 0));
  for (DmaAddr a : below) {
    EXPECT_NE(a, 0u);
    EXPECT_LT(a, k4GiB);
    EXPECT_EQ(a % kGiB, 0u);
  }
  const DmaAddr above = iova.Alloc(kGiB, 0);
  EXPECT_GE(above, k4GiB);
  EXPECT_EQ(above % kGiB, 0u);
}

TEST(IovaAllocatorTest, MostRecentlyFreedOnThisCpuIsReusedFirst) {
  // §4.3: the magazine is a stack; "the IOVA you just freed on this CPU is the most likely
  // next allocation".
  IovaAllocator iova(2);
  const DmaAddr a = iova.Alloc(kPageSize, 0);
  const DmaAddr b = iova.Alloc(kPageSize, 0);
  const DmaAddr c = iova.Alloc(kPageSize, 0);
  iova.Free(a, kPageSize, 0);
  iova.Free(c, kPageSize, 0);
  iova.Free(b, kPageSize, 0);
  EXPECT_EQ(iova.Alloc(kPageSize, 0), b);
  EXPECT_EQ(iova.Alloc(kPageSize, 0), c);
  EXPECT_EQ(iova.Alloc(kPageSize, 0), a);
}

TEST(IovaAllocatorTest, AnotherCpuDoesNotGetTheRangeFromThisCpusCache) {
  IovaAllocator iova(2);
  const DmaAddr a = iova.Alloc(kPageSize, 0);
  iova.Free(a, kPageSize, 0);
  const DmaAddr other = iova.Alloc(kPageSize, 1);
  EXPECT_NE(other, a);
  EXPECT_NE(other, 0u);
  // cpu 0's cache still holds it.
  EXPECT_EQ(iova.Alloc(kPageSize, 0), a);
}

TEST(IovaAllocatorTest, ReuseIsPerSizeClass) {
  IovaAllocator iova(1);
  const DmaAddr one = iova.Alloc(kPageSize, 0);
  const DmaAddr four = iova.Alloc(4 * kPageSize, 0);
  iova.Free(one, kPageSize, 0);
  iova.Free(four, 4 * kPageSize, 0);
  // 3 pages round to the 4-page class and reuse the 4-page range, not the 1-page one.
  EXPECT_EQ(iova.Alloc(3 * kPageSize, 0), four);
  EXPECT_EQ(iova.Alloc(kPageSize, 0), one);
}

TEST(IovaAllocatorTest, FullMagazinesSpillToTheSharedDepot) {
  // §4.3: two magazines per CPU; a full one goes to the depot shared by all CPUs.
  IovaAllocator iova(2);
  std::vector<DmaAddr> got;
  const uint32_t n = 2 * IovaAllocator::kMagazineSize + 1;
  for (uint32_t i = 0; i < n; ++i) got.push_back(iova.Alloc(kPageSize, 0));
  for (DmaAddr a : got) iova.Free(a, kPageSize, 0);
  const std::set<DmaAddr> freed(got.begin(), got.end());
  // cpu 1 has an empty cache, so it must be served from the depot with a cpu-0 range.
  EXPECT_EQ(freed.count(iova.Alloc(kPageSize, 1)), 1u);
}

TEST(IovaAllocatorTest, AllocationsNeverOverlap) {
  IovaAllocator iova(2);
  std::set<std::pair<DmaAddr, DmaAddr>> ranges;
  for (int i = 0; i < 200; ++i) {
    const uint64_t pages = uint64_t{1} << (i % 7);
    const DmaAddr a = iova.Alloc(pages * kPageSize, static_cast<uint16_t>(i % 2));
    ASSERT_NE(a, 0u);
    const DmaAddr end = a + pages * kPageSize;
    for (const auto& [s, e] : ranges) ASSERT_TRUE(end <= s || a >= e) << std::hex << a;
    ranges.emplace(a, end);
  }
}

}  // namespace
}  // namespace ppsim::sim
