// A per-device table in the manner of CONFIG_DMA_API_DEBUG (kernel/dma/debug.c;
// docs/kernel/page-pool.md §6.5): one entry per live streaming mapping, checked on unmap and sync,
// and counted when the driver unbinds. Like the kernel, entries are *not* removed at unbind, so
// a late unmap finds its entry and passes dma-debug silently: dma-debug reports the leak at
// unbind, not the late unmap (that is the IOMMU's and our checker's business).
#ifndef PPSIM_SERVER_SIM_DMA_DEBUG_H_
#define PPSIM_SERVER_SIM_DMA_DEBUG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "server/sim/types.h"

namespace ppsim::sim {

struct DmaDebugEntry {
  Pfn pfn = 0;
  uint64_t size = 0;
  DmaDir dir = DmaDir::kBidirectional;
};

class DmaDebug {
 public:
  void Add(DmaAddr addr, const DmaDebugEntry& e) { entries_[addr] = e; }

  // Checks an unmap against the entry and removes it on a match. Returns the dma-debug
  // message (without the "DMA-API: <driver> <device>: " prefix) when the unmap is wrong.
  std::optional<std::string> CheckUnmap(DmaAddr addr, uint64_t size, DmaDir dir);
  // Checks a sync of [addr, addr + size) in direction dir; `for_cpu` selects the variant.
  std::optional<std::string> CheckSync(DmaAddr addr, uint64_t size, DmaDir dir, bool for_cpu) const;

  size_t pending() const { return entries_.size(); }
  // One leaked entry, for "One of leaked entries details".
  std::optional<std::pair<DmaAddr, DmaDebugEntry>> AnyEntry() const;
  uint64_t error_count() const { return error_count_; }
  void CountError() { ++error_count_; }

 private:
  absl::btree_map<DmaAddr, DmaDebugEntry> entries_;
  uint64_t error_count_ = 0;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_DMA_DEBUG_H_
