// Tests for server/sim/dma_debug.h: the checks and message stems of CONFIG_DMA_API_DEBUG
// (kernel/dma/debug.c; docs/kernel/page-pool.md §6.5).
#include "server/sim/dma_debug.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr DmaAddr kAddr = 0xfffff000;

DmaDebug WithOneEntry(DmaDir dir = DmaDir::kFromDevice, uint64_t size = kPageSize) {
  DmaDebug dd;
  dd.Add(kAddr, DmaDebugEntry{.pfn = 5, .size = size, .dir = dir});
  return dd;
}

TEST(DmaDebugTest, MatchingUnmapIsSilentAndRemovesTheEntry) {
  DmaDebug dd = WithOneEntry();
  EXPECT_EQ(dd.pending(), 1u);
  EXPECT_EQ(dd.CheckUnmap(kAddr, kPageSize, DmaDir::kFromDevice), std::nullopt);
  EXPECT_EQ(dd.pending(), 0u);
  EXPECT_EQ(dd.AnyEntry(), std::nullopt);
}

TEST(DmaDebugTest, UnmapOfNeverMappedAddress) {
  // §6.5: no entry → "tries to free DMA memory it has not allocated".
  DmaDebug dd;
  std::optional<std::string> msg = dd.CheckUnmap(0x1000, kPageSize, DmaDir::kFromDevice);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg,
            "device driver tries to free DMA memory it has not allocated "
            "[device address=0x0000000000001000] [size=4096 bytes]");
}

TEST(DmaDebugTest, UnmapOfTheMappingErrorCookie) {
  // §6.5: no entry and the address is the mapping-error cookie.
  DmaDebug dd;
  std::optional<std::string> msg = dd.CheckUnmap(0, kPageSize, DmaDir::kFromDevice);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg, "device driver tries to free an invalid DMA memory address");
}

TEST(DmaDebugTest, DoubleUnmapReportsNotAllocated) {
  // §6.5: "a double unmap of the same address reports 'not allocated'".
  DmaDebug dd = WithOneEntry();
  ASSERT_EQ(dd.CheckUnmap(kAddr, kPageSize, DmaDir::kFromDevice), std::nullopt);
  std::optional<std::string> msg = dd.CheckUnmap(kAddr, kPageSize, DmaDir::kFromDevice);
  ASSERT_TRUE(msg.has_value());
  EXPECT_THAT(*msg, StartsWith("device driver tries to free DMA memory it has not allocated"));
  EXPECT_THAT(*msg, HasSubstr("[device address=0x00000000fffff000]"));
}

TEST(DmaDebugTest, UnmapWithDifferentSize) {
  DmaDebug dd = WithOneEntry();
  std::optional<std::string> msg = dd.CheckUnmap(kAddr, 2048, DmaDir::kFromDevice);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg,
            "device driver frees DMA memory with different size "
            "[device address=0x00000000fffff000] [map size=4096 bytes] [unmap size=2048 bytes]");
  // debug.c removes the entry after reporting.
  EXPECT_EQ(dd.pending(), 0u);
}

TEST(DmaDebugTest, UnmapWithDifferentDirection) {
  DmaDebug dd = WithOneEntry(DmaDir::kFromDevice);
  std::optional<std::string> msg = dd.CheckUnmap(kAddr, kPageSize, DmaDir::kBidirectional);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg,
            "device driver frees DMA memory with different direction "
            "[device address=0x00000000fffff000] [size=4096 bytes] "
            "[mapped with DMA_FROM_DEVICE] [unmapped with DMA_BIDIRECTIONAL]");
}

TEST(DmaDebugTest, SyncInsideTheMappingIsSilent) {
  DmaDebug dd = WithOneEntry(DmaDir::kFromDevice, 4 * kPageSize);
  EXPECT_EQ(dd.CheckSync(kAddr, 4 * kPageSize, DmaDir::kFromDevice, true), std::nullopt);
  EXPECT_EQ(dd.CheckSync(kAddr + kPageSize, 256, DmaDir::kFromDevice, false), std::nullopt);
  EXPECT_EQ(dd.pending(), 1u);  // syncs never consume the entry
}

TEST(DmaDebugTest, SyncOfMemoryNotAllocated) {
  DmaDebug dd = WithOneEntry();
  // Below every entry, and past the end of the only one (containing-range lookup).
  for (DmaAddr a : {DmaAddr{0x1000}, kAddr + kPageSize}) {
    std::optional<std::string> msg = dd.CheckSync(a, 64, DmaDir::kFromDevice, true);
    ASSERT_TRUE(msg.has_value()) << std::hex << a;
    EXPECT_THAT(*msg, StartsWith("device driver tries to sync DMA memory it has not allocated"));
  }
}

TEST(DmaDebugTest, SyncOutsideTheAllocatedRange) {
  DmaDebug dd = WithOneEntry();
  std::optional<std::string> msg = dd.CheckSync(kAddr + 2048, kPageSize, DmaDir::kFromDevice, true);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(*msg,
            "device driver syncs DMA memory outside allocated range "
            "[device address=0x00000000fffff000] [allocation size=4096 bytes] "
            "[sync offset+size=6144]");
}

TEST(DmaDebugTest, SyncWithDifferentDirection) {
  DmaDebug dd = WithOneEntry(DmaDir::kFromDevice);
  std::optional<std::string> msg = dd.CheckSync(kAddr, kPageSize, DmaDir::kToDevice, false);
  ASSERT_TRUE(msg.has_value());
  EXPECT_THAT(*msg, StartsWith("device driver syncs DMA memory with different direction"));
  EXPECT_THAT(*msg, HasSubstr("[mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]"));
}

TEST(DmaDebugTest, SyncDirectionIsNotCheckedForBidirectionalMappings) {
  // §6.5: the direction check is "skipped for BIDIRECTIONAL mappings".
  DmaDebug dd = WithOneEntry(DmaDir::kBidirectional);
  EXPECT_EQ(dd.CheckSync(kAddr, kPageSize, DmaDir::kFromDevice, true), std::nullopt);
  EXPECT_EQ(dd.CheckSync(kAddr, kPageSize, DmaDir::kToDevice, false), std::nullopt);
}

TEST(DmaDebugTest, EntriesSurviveAndAnyEntryNamesOne) {
  // §6.5: at unbind dma-debug counts the live entries, prints one, and does not remove them.
  DmaDebug dd;
  dd.Add(0x3000, DmaDebugEntry{.pfn = 9, .size = kPageSize, .dir = DmaDir::kFromDevice});
  dd.Add(0x2000, DmaDebugEntry{.pfn = 8, .size = 2 * kPageSize, .dir = DmaDir::kBidirectional});
  EXPECT_EQ(dd.pending(), 2u);
  auto any = dd.AnyEntry();
  ASSERT_TRUE(any.has_value());
  EXPECT_TRUE(any->first == 0x2000 || any->first == 0x3000);
  EXPECT_EQ(any->second.pfn, any->first == 0x2000 ? 8u : 9u);
  EXPECT_EQ(dd.pending(), 2u);
  // A late unmap after the leak report still finds its entry and passes silently.
  EXPECT_EQ(dd.CheckUnmap(0x3000, kPageSize, DmaDir::kFromDevice), std::nullopt);
  EXPECT_EQ(dd.pending(), 1u);
  ASSERT_TRUE(dd.AnyEntry().has_value());
  EXPECT_EQ(dd.AnyEntry()->first, 0x2000u);
}

TEST(DmaDebugTest, ErrorCountCounts) {
  DmaDebug dd;
  EXPECT_EQ(dd.error_count(), 0u);
  dd.CountError();
  dd.CountError();
  EXPECT_EQ(dd.error_count(), 2u);
}


// check_sync() in kernel/dma/debug.c: the read-only/write-only reports need the mapping and the
// sync to disagree with the direction the device may use; a TO_DEVICE mapping synced for the CPU
// as TO_DEVICE is clean, a FROM_DEVICE mapping synced to the device as TO_DEVICE is both a
// direction mismatch and a write-only sync.
TEST(DmaDebugTest, SyncDirectionRulesFollowCheckSync) {
  DmaDebug d;
  d.Add(0x1000, DmaDebugEntry{1, 4096, DmaDir::kToDevice});
  EXPECT_FALSE(d.CheckSync(0x1000, 64, DmaDir::kToDevice, /*for_cpu=*/true).has_value());
  d.Add(0x2000, DmaDebugEntry{2, 4096, DmaDir::kFromDevice});
  const auto msg = d.CheckSync(0x2000, 64, DmaDir::kToDevice, /*for_cpu=*/false);
  ASSERT_TRUE(msg.has_value());
  EXPECT_THAT(*msg, HasSubstr("syncs DMA memory with different direction"));
  EXPECT_THAT(*msg, HasSubstr("syncs device write-only DMA memory to device"));
  EXPECT_THAT(*msg, HasSubstr("[mapped with DMA_FROM_DEVICE] [synced with DMA_TO_DEVICE]"));
}

}  // namespace
}  // namespace ppsim::sim
