#include "server/sim/iova_allocator.h"

#include <bit>

namespace ppsim::sim {

namespace {
// IOVA space below this is never handed out (the kernel starts at IOVA pfn 1 and reserves
// low regions); keeps 0 free as "no mapping".
constexpr DmaAddr kIovaFloor = DmaAddr{1} << 20;
}  // namespace

IovaAllocator::IovaAllocator(uint32_t cpus) : cpus_(cpus) {
  for (CpuCache& c : cpus_) c.classes.resize(kCachedClasses);
}

uint64_t IovaAllocator::RoundedPages(uint64_t bytes) {
  const uint64_t pages = (bytes + kPageSize - 1) / kPageSize;
  return std::bit_ceil(pages == 0 ? 1 : pages);
}

uint32_t IovaAllocator::ClassOf(uint64_t pages) const {
  return static_cast<uint32_t>(std::countr_zero(pages));
}

DmaAddr IovaAllocator::Alloc(uint64_t bytes, uint16_t cpu) {
  const uint64_t pages = RoundedPages(bytes);
  const uint32_t cls = ClassOf(pages);
  if (cls < kCachedClasses) {
    auto& mag = cpus_[cpu % cpus_.size()].classes[cls];
    if (!mag.empty()) {
      const DmaAddr iova = mag.back();
      mag.pop_back();
      return iova;
    }
  }
  if (auto it = depot_.find(pages); it != depot_.end() && !it->second.empty()) {
    const DmaAddr iova = it->second.back();
    it->second.pop_back();
    return iova;
  }
  const uint64_t len = pages * kPageSize;
  for (DmaAddr* next : {&next32_, &next64_}) {
    const DmaAddr limit = (next == &next32_) ? kIovaFloor : (DmaAddr{1} << 32);
    if (*next < len) continue;
    const DmaAddr iova = (*next - len) & ~(len - 1);  // size-aligned, top-down
    if (iova < limit) continue;
    *next = iova;
    return iova;
  }
  return 0;
}

void IovaAllocator::Free(DmaAddr iova, uint64_t bytes, uint16_t cpu) {
  const uint64_t pages = RoundedPages(bytes);
  const uint32_t cls = ClassOf(pages);
  if (cls < kCachedClasses) {
    auto& mag = cpus_[cpu % cpus_.size()].classes[cls];
    // Two magazines (loaded + prev) per CPU; beyond that the oldest half goes to the depot,
    // as a full magazine is swapped out.
    if (mag.size() >= 2 * kMagazineSize) {
      auto& depot = depot_[pages];
      depot.insert(depot.end(), mag.begin(), mag.begin() + kMagazineSize);
      mag.erase(mag.begin(), mag.begin() + kMagazineSize);
    }
    mag.push_back(iova);
    return;
  }
  depot_[pages].push_back(iova);
}

}  // namespace ppsim::sim
