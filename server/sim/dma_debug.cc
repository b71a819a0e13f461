#include "server/sim/dma_debug.h"

#include "absl/strings/str_format.h"

namespace ppsim::sim {

// Message stems are dma-debug's (docs/kernel/page-pool.md §6.5).
std::optional<std::string> DmaDebug::CheckUnmap(DmaAddr addr, uint64_t size, DmaDir dir) {
  auto it = entries_.find(addr);
  if (it == entries_.end()) {
    if (addr == 0) return std::string("device driver tries to free an invalid DMA memory address");
    return absl::StrFormat(
        "device driver tries to free DMA memory it has not allocated [device address=0x%016x] "
        "[size=%d bytes]",
        addr, size);
  }
  const DmaDebugEntry e = it->second;
  entries_.erase(it);
  if (e.size != size) {
    return absl::StrFormat(
        "device driver frees DMA memory with different size [device address=0x%016x] [map "
        "size=%d bytes] [unmap size=%d bytes]",
        addr, e.size, size);
  }
  if (e.dir != dir) {
    return absl::StrFormat(
        "device driver frees DMA memory with different direction [device address=0x%016x] "
        "[size=%d bytes] [mapped with %s] [unmapped with %s]",
        addr, size, DmaDirName(e.dir), DmaDirName(dir));
  }
  return std::nullopt;
}

std::optional<std::string> DmaDebug::CheckSync(DmaAddr addr, uint64_t size, DmaDir dir,
                                               bool for_cpu) const {
  // Containing-range lookup: the entry with the greatest base <= addr.
  auto it = entries_.upper_bound(addr);
  if (it == entries_.begin()) {
    return absl::StrFormat(
        "device driver tries to sync DMA memory it has not allocated [device address=0x%016x] "
        "[size=%d bytes]",
        addr, size);
  }
  --it;
  const DmaAddr base = it->first;
  const DmaDebugEntry& e = it->second;
  if (addr >= base + e.size) {
    return absl::StrFormat(
        "device driver tries to sync DMA memory it has not allocated [device address=0x%016x] "
        "[size=%d bytes]",
        addr, size);
  }
  if (addr + size > base + e.size) {
    return absl::StrFormat(
        "device driver syncs DMA memory outside allocated range [device address=0x%016x] "
        "[allocation size=%d bytes] [sync offset+size=%d]",
        base, e.size, addr - base + size);
  }
  // check_sync() in kernel/dma/debug.c: bidirectional mappings may be synced either way;
  // otherwise a direction mismatch, then the read-only/write-only cases, each reported.
  if (e.dir == DmaDir::kBidirectional) return std::nullopt;
  std::string out;
  auto add = [&](absl::string_view stem) {
    if (!out.empty()) out += "; ";
    out += absl::StrFormat(
        "device driver %s [device address=0x%016x] [size=%d bytes] [mapped with %s] [synced "
        "with %s]",
        stem, addr, size, DmaDirName(e.dir), DmaDirName(dir));
  };
  if (e.dir != dir) add("syncs DMA memory with different direction");
  if (for_cpu && e.dir != DmaDir::kFromDevice && dir != DmaDir::kToDevice) {
    add("syncs device read-only DMA memory for cpu");
  }
  if (!for_cpu && e.dir != DmaDir::kToDevice && dir != DmaDir::kFromDevice) {
    add("syncs device write-only DMA memory to device");
  }
  if (!out.empty()) return out;
  return std::nullopt;
}

std::optional<std::pair<DmaAddr, DmaDebugEntry>> DmaDebug::AnyEntry() const {
  if (entries_.empty()) return std::nullopt;
  return *entries_.begin();
}

}  // namespace ppsim::sim
