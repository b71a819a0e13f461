#include "server/sim/iommu.h"

namespace ppsim::sim {

IommuDomain::IommuDomain(IommuModel model, bool strict, uint32_t cpus, uint32_t dma_mask_bits)
    : model_(model), strict_(strict), ddw_(dma_mask_bits >= 64), mask_bits_(dma_mask_bits),
      iova_(cpus), flush_queues_(cpus) {
  // The default window's entry 0 is reserved so that no device sees bus address 0.
  if (!ddw_) ddw_next_ = kPageSize;
}

bool IommuDomain::NeedsBounce(Pfn pfn, uint64_t size) const {
  if (model_ != IommuModel::kPassthrough || mask_bits_ >= 64) return false;
  const DmaAddr end = (pfn << kPageShift) + IovaAllocator::RoundedPages(size) * kPageSize - 1;
  return (end >> mask_bits_) != 0;
}

DmaAddr IommuDomain::Map(Pfn pfn, uint64_t size, DmaDir dir, uint16_t cpu,
                         DmaAddr bounce_slot) {
  DmaAddr addr = 0;
  bool bounced = false;
  switch (model_) {
    case IommuModel::kPassthrough:
      addr = pfn << kPageShift;
      if (bounce_slot != 0) {  // dma-direct bounced it: the device sees the slot
        addr = bounce_slot;
        bounced = true;
      }
      break;
    case IommuModel::kPpcDdw: {
      const DmaAddr next = ddw_next_ + IovaAllocator::RoundedPages(size) * kPageSize;
      if (!ddw_ && next > kDefaultWindowSize) return 0;  // the 2 GiB window is full
      addr = ddw_next_;
      ddw_next_ = next;
      break;
    }
    case IommuModel::kIntel:
    case IommuModel::kAmd:
    case IommuModel::kArmSmmu:
      addr = iova_.Alloc(size, cpu);
      break;
  }
  if (addr == 0) return 0;
  mappings_[addr] = IovaMapping{pfn, size, dir, bounced};
  mapped_pages_ += IovaAllocator::RoundedPages(size);
  return addr;
}

IommuDomain::UnmapResult IommuDomain::Unmap(DmaAddr addr, uint16_t cpu) {
  UnmapResult r;
  auto it = mappings_.find(addr);
  if (it == mappings_.end()) return r;
  r.found = true;
  r.mapping = it->second;
  mappings_.erase(it);
  mapped_pages_ -= IovaAllocator::RoundedPages(r.mapping.size);
  if (!iommu_dma()) return r;  // passthrough: nothing; TCE windows: next-fit, no reuse
  if (strict_) {
    iova_.Free(addr, r.mapping.size, cpu);
    return r;
  }
  auto& q = flush_queues_[cpu % flush_queues_.size()];
  q.push_back(Queued{addr, r.mapping, cpu});
  ++queued_;
  r.queued = true;
  r.queue_full = q.size() >= kFlushQueueSize;
  return r;
}

IovaMapping* IommuDomain::FindMapping(DmaAddr addr) {
  auto it = mappings_.find(addr);
  return it == mappings_.end() ? nullptr : &it->second;
}

IommuDomain::Translation IommuDomain::Translate(DmaAddr addr) const {
  if (model_ == IommuModel::kPassthrough) {
    auto it = mappings_.find(addr & ~(kPageSize - 1));
    if (it != mappings_.end() && it->second.bounced) {
      return {TranslationKind::kBounce, it->second.pfn};
    }
    return {TranslationKind::kDirect, addr >> kPageShift};
  }
  // A mapping covers [base, base + size); pool mappings are page-aligned, so look up the
  // page-aligned base and then larger power-of-two bases for compound mappings.
  for (uint64_t span = kPageSize; span <= (kPageSize << 10); span <<= 1) {
    const DmaAddr base = addr & ~(span - 1);
    auto it = mappings_.find(base);
    if (it != mappings_.end() && addr < base + it->second.size) {
      return {TranslationKind::kLive, it->second.pfn + (addr - base) / kPageSize};
    }
  }
  for (const auto& q : flush_queues_) {
    for (auto e = q.rbegin(); e != q.rend(); ++e) {
      if (addr >= e->iova && addr < e->iova + e->mapping.size) {
        return {TranslationKind::kStaleIotlb, e->mapping.pfn + (addr - e->iova) / kPageSize};
      }
    }
  }
  return {};
}

void IommuDomain::FlushIotlb() {
  ++flushes_;
  for (auto& q : flush_queues_) {
    for (const Queued& e : q) iova_.Free(e.iova, e.mapping.size, e.cpu);
    q.clear();
  }
  queued_ = 0;
}

void IommuDomain::Free() {
  freed_ = true;
  mappings_.clear();
  mapped_pages_ = 0;
  for (auto& q : flush_queues_) q.clear();
  queued_ = 0;
}

}  // namespace ppsim::sim
