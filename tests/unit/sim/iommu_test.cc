// Tests for server/sim/iommu.h: strict and lazy intel domains, ppc-ddw and passthrough
// (docs/design.md §3.3, docs/kernel/skb-and-iommu.md §4.3–§4.5).
#include "server/sim/iommu.h"

#include <vector>

#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using Kind = IommuDomain::TranslationKind;

TEST(IommuTest, IntelStrictUnmapFreesTheIovaForImmediateReuse) {
  // §4.3 strict mode: unmap → IOTLB sync → IOVA freed at once; §4.4: the next mapping on this
  // CPU gets the same IOVA (LIFO reuse), so a late device write lands in the new buffer.
  IommuDomain d(IommuModel::kIntel, /*strict=*/true, 2);
  EXPECT_TRUE(d.translated());
  EXPECT_FALSE(d.lazy());
  const DmaAddr a = d.Map(5, kPageSize, DmaDir::kFromDevice, 0);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(d.Translate(a).kind, Kind::kLive);
  EXPECT_EQ(d.Translate(a + 100).pfn, 5u);
  EXPECT_EQ(d.mapped_count(), 1u);

  const IommuDomain::UnmapResult r = d.Unmap(a, 0);
  EXPECT_TRUE(r.found);
  EXPECT_EQ(r.mapping.pfn, 5u);
  EXPECT_EQ(r.mapping.size, kPageSize);
  EXPECT_EQ(r.mapping.dir, DmaDir::kFromDevice);
  EXPECT_FALSE(r.queued);
  EXPECT_EQ(d.mapped_count(), 0u);
  // §4.4: unmapped and flushed → the IOMMU blocks the access.
  EXPECT_EQ(d.Translate(a).kind, Kind::kNone);

  const DmaAddr b = d.Map(7, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_EQ(b, a);
  const IommuDomain::Translation t = d.Translate(a);
  EXPECT_EQ(t.kind, Kind::kLive);
  EXPECT_EQ(t.pfn, 7u);
}

TEST(IommuTest, UnmapOfAnUnknownAddressIsNotFound) {
  IommuDomain d(IommuModel::kIntel, true, 1);
  const DmaAddr a = d.Map(5, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_FALSE(d.Unmap(a + kPageSize, 0).found);
  EXPECT_TRUE(d.Unmap(a, 0).found);
  EXPECT_FALSE(d.Unmap(a, 0).found);
}

TEST(IommuTest, CompoundMappingTranslatesEveryPage) {
  IommuDomain d(IommuModel::kIntel, true, 1);
  const DmaAddr a = d.Map(16, 4 * kPageSize, DmaDir::kBidirectional, 0);
  EXPECT_EQ(d.mapped_pages(), 4u);
  const IommuDomain::Translation t = d.Translate(a + 3 * kPageSize + 5);
  EXPECT_EQ(t.kind, Kind::kLive);
  EXPECT_EQ(t.pfn, 19u);
  EXPECT_EQ(d.Translate(a + 4 * kPageSize).kind, Kind::kNone);
}

TEST(IommuTest, IntelLazyKeepsAStaleIotlbEntryUntilTheFlush) {
  // §4.3 flush queue: unmap does not wait for the IOTLB invalidation; §4.4: until the flush the
  // device still reaches the old page.
  IommuDomain d(IommuModel::kIntel, /*strict=*/false, 2);
  EXPECT_TRUE(d.lazy());
  const DmaAddr a = d.Map(5, kPageSize, DmaDir::kFromDevice, 0);
  const IommuDomain::UnmapResult r = d.Unmap(a, 0);
  EXPECT_TRUE(r.found);
  EXPECT_TRUE(r.queued);
  EXPECT_FALSE(r.queue_full);
  EXPECT_EQ(d.queued(), 1u);
  const IommuDomain::Translation stale = d.Translate(a + 8);
  EXPECT_EQ(stale.kind, Kind::kStaleIotlb);
  EXPECT_EQ(stale.pfn, 5u);

  // The queued IOVA is not free yet: a new mapping on the same CPU gets another one.
  const DmaAddr b = d.Map(7, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_NE(b, a);

  d.FlushIotlb();
  EXPECT_EQ(d.flushes(), 1u);
  EXPECT_EQ(d.queued(), 0u);
  EXPECT_EQ(d.Translate(a).kind, Kind::kNone);
  // Released to the rcache of the unmapping CPU: reused next.
  EXPECT_EQ(d.Map(8, kPageSize, DmaDir::kFromDevice, 0), a);
}

TEST(IommuTest, IntelLazyReportsAFullQueueAt256EntriesPerCpu) {
  // §4.3: IOVA_FQ_SIZE 256, one queue per CPU.
  IommuDomain d(IommuModel::kIntel, false, 2);
  std::vector<DmaAddr> addrs;
  for (int i = 0; i < 300; ++i) addrs.push_back(d.Map(i, kPageSize, DmaDir::kFromDevice, 0));
  for (uint32_t i = 0; i + 1 < IommuDomain::kFlushQueueSize; ++i) {
    ASSERT_FALSE(d.Unmap(addrs[i], 0).queue_full) << "entry " << i;
  }
  // Another CPU's queue is separate.
  const IommuDomain::UnmapResult other = d.Unmap(addrs[299], 1);
  EXPECT_TRUE(other.queued);
  EXPECT_FALSE(other.queue_full);
  EXPECT_TRUE(d.Unmap(addrs[IommuDomain::kFlushQueueSize - 1], 0).queue_full);
  EXPECT_EQ(d.queued(), IommuDomain::kFlushQueueSize + 1);
}

TEST(IommuTest, PpcDdwAddressesAreInTheWindowAndNotReused) {
  // docs/design.md §3.3: the TCE window is allocated next-fit from a hint.
  IommuDomain d(IommuModel::kPpcDdw, true, 1);
  EXPECT_TRUE(d.translated());
  const DmaAddr a = d.Map(5, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_GE(a, IommuDomain::kDdwWindowBase);
  EXPECT_EQ(d.Translate(a).pfn, 5u);
  const IommuDomain::UnmapResult r = d.Unmap(a, 0);
  EXPECT_TRUE(r.found);
  EXPECT_FALSE(r.queued);
  EXPECT_EQ(d.Translate(a).kind, Kind::kNone);
  const DmaAddr b = d.Map(6, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_GE(b, IommuDomain::kDdwWindowBase);
  EXPECT_NE(b, a);
}

TEST(IommuTest, PassthroughBusAddressIsThePhysicalAddress) {
  // §4.4: no IOMMU → bus address = physical address, never checked.
  IommuDomain d(IommuModel::kPassthrough, true, 1);
  EXPECT_FALSE(d.translated());
  const DmaAddr a = d.Map(42, kPageSize, DmaDir::kFromDevice, 0);
  EXPECT_EQ(a, Pfn{42} << kPageShift);
  const IommuDomain::Translation t = d.Translate(a + 17);
  EXPECT_EQ(t.kind, Kind::kDirect);
  EXPECT_EQ(t.pfn, 42u);
  d.Unmap(a, 0);
  EXPECT_EQ(d.Translate(a).kind, Kind::kDirect);
  EXPECT_EQ(d.Translate(Pfn{99} << kPageShift).pfn, 99u);
}

TEST(IommuTest, FreeClearsMappingsAndFlushQueues) {
  // §4.5: device removal frees the domain and its tables.
  IommuDomain d(IommuModel::kIntel, false, 2);
  const DmaAddr live = d.Map(5, kPageSize, DmaDir::kFromDevice, 0);
  const DmaAddr queued = d.Map(6, kPageSize, DmaDir::kFromDevice, 1);
  d.Unmap(queued, 1);
  ASSERT_EQ(d.queued(), 1u);
  EXPECT_FALSE(d.freed());
  d.Free();
  EXPECT_TRUE(d.freed());
  EXPECT_EQ(d.mapped_count(), 0u);
  EXPECT_EQ(d.mapped_pages(), 0u);
  EXPECT_EQ(d.queued(), 0u);
  EXPECT_EQ(d.Translate(live).kind, Kind::kNone);
  EXPECT_EQ(d.Translate(queued).kind, Kind::kNone);
  EXPECT_FALSE(d.Unmap(live, 0).found);
}

}  // namespace
}  // namespace ppsim::sim
