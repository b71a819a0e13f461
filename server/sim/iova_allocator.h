// IOVA allocation with the reuse order of drivers/iommu/iova.c (docs/kernel/skb-and-iommu.md §4.3):
// sizes are rounded up to a power of two and aligned to it; a freed range goes to the freeing
// CPU's cache (the rcache magazines, 127 entries each, two per CPU) and overflows into a shared
// depot; an allocation takes the most recently freed range of its size on that CPU first, then
// the depot, then fresh space searched top-down below 4 GiB (PCI devices try 32-bit IOVAs
// first), then above. "The IOVA you just freed on this CPU is the next one handed out" is the
// property the strict-mode reuse bug needs.
#ifndef PPSIM_SERVER_SIM_IOVA_ALLOCATOR_H_
#define PPSIM_SERVER_SIM_IOVA_ALLOCATOR_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class IovaAllocator {
 public:
  static constexpr uint32_t kMagazineSize = 127;  // IOVA_MAG_SIZE since 2022
  static constexpr uint32_t kCachedClasses = 6;   // IOVA_RANGE_CACHE_MAX_SIZE: 1..32 granules

  explicit IovaAllocator(uint32_t cpus);

  // Returns an IOVA for `bytes` (rounded up to a power-of-two number of pages), or 0 when the
  // space is exhausted.
  DmaAddr Alloc(uint64_t bytes, uint16_t cpu);
  void Free(DmaAddr iova, uint64_t bytes, uint16_t cpu);

  static uint64_t RoundedPages(uint64_t bytes);

 private:
  struct CpuCache {
    std::vector<std::vector<DmaAddr>> classes;  // per size class: LIFO of free IOVAs
  };
  uint32_t ClassOf(uint64_t pages) const;
  std::vector<CpuCache> cpus_;
  absl::flat_hash_map<uint64_t, std::vector<DmaAddr>> depot_;  // pages → LIFO
  DmaAddr next32_ = DmaAddr{1} << 32;   // next fresh top-down below 4 GiB
  DmaAddr next64_ = DmaAddr{1} << 48;   // then below the 48-bit limit
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_IOVA_ALLOCATOR_H_
