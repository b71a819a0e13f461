// A device's IOMMU domain (docs/design.md §3.3, docs/kernel/skb-and-iommu.md §4.3–§4.5).
//
// The domain translates bus addresses to page frames. `intel` domains allocate IOVAs with
// most-recently-freed-first reuse and invalidate either strictly (the IOVA is free again as
// soon as unmap returns) or lazily: an unmapped IOVA waits in its CPU's 256-entry flush queue,
// and until the domain-wide IOTLB flush (queue full, or 10 ms after the first queued entry)
// the device can still reach the old page through the stale IOTLB entry. `amd` and `arm-smmu`
// domains are iommu-dma domains too and behave alike here; they differ from `intel` in what a
// call after device removal reaches (dma_api.cc). `ppc-ddw` is a TCE window whose entries are
// allocated next-fit from a hint, so they are not reused within a lab's lifetime: a dynamic DMA
// window for a 64-bit DMA mask, else the PHB's default 32-bit window (2 GiB from bus address 0,
// entry 0 reserved: arch/powerpc/kernel/iommu.c:iommu_init_table). `passthrough` does not
// translate at all.
//
// The domain knows nothing of drivers or of the checker: the DMA API layer (dma_api.h) decides
// what a call means for the device's lifecycle and reports violations.
#ifndef PPSIM_SERVER_SIM_IOMMU_H_
#define PPSIM_SERVER_SIM_IOMMU_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/sim/iova_allocator.h"
#include "server/sim/lab_config.h"
#include "server/sim/types.h"

namespace ppsim::sim {

struct IovaMapping {
  Pfn pfn = 0;
  uint64_t size = 0;
  DmaDir dir = DmaDir::kBidirectional;
  // dma-direct only: the page lies above the device's DMA mask, so the address is a swiotlb
  // slot (kernel/dma/swiotlb.c swiotlb_tbl_map_single) and the device's data lands there.
  bool bounced = false;
  bool bounce_has_device_data = false;  // written by the device, not yet copied to the page
};

class IommuDomain {
 public:
  static constexpr uint32_t kFlushQueueSize = 256;        // IOVA_FQ_SIZE
  static constexpr Nanos kFlushTimeout = 10 * kMillisecond;  // IOVA_FQ_TIMEOUT
  static constexpr DmaAddr kDdwWindowBase = DmaAddr{1} << 59;
  static constexpr DmaAddr kDefaultWindowSize = DmaAddr{2} << 30;

  IommuDomain(IommuModel model, bool strict, uint32_t cpus, uint32_t dma_mask_bits = 64);

  IommuModel model() const { return model_; }
  bool strict() const { return strict_; }
  bool translated() const { return model_ != IommuModel::kPassthrough; }
  // intel, amd, arm-smmu: an iommu-dma domain with an IOVA allocator and a flush queue.
  bool iommu_dma() const {
    return model_ == IommuModel::kIntel || model_ == IommuModel::kAmd ||
           model_ == IommuModel::kArmSmmu;
  }
  bool lazy() const { return iommu_dma() && !strict_; }
  // ppc-ddw with a DMA mask below 64 bits: the PHB's default window, which outlives the device.
  bool ppc_default_window() const { return model_ == IommuModel::kPpcDdw && !ddw_; }

  // Returns the bus address, or 0 when the IOVA space is exhausted. `bounce_slot` (dma-direct
  // only): the swiotlb slot the caller took for a page above the mask (NeedsBounce).
  DmaAddr Map(Pfn pfn, uint64_t size, DmaDir dir, uint16_t cpu, DmaAddr bounce_slot = 0);
  // dma_capable() fails: a dma-direct page beyond the device's DMA mask must bounce
  // (kernel/dma/direct.h dma_direct_map_phys -> swiotlb_map).
  bool NeedsBounce(Pfn pfn, uint64_t size) const;
  // dma_set_mask: the mask the next passthrough mappings are checked against.
  void set_dma_mask_bits(uint32_t bits) { mask_bits_ = bits; }
  uint32_t dma_mask_bits() const { return mask_bits_; }
  IovaMapping* FindMapping(DmaAddr addr);

  struct UnmapResult {
    bool found = false;
    IovaMapping mapping;
    bool queued = false;      // lazy: the IOVA went into a flush queue
    bool queue_full = false;  // lazy: that queue is now full, flush now
  };
  UnmapResult Unmap(DmaAddr addr, uint16_t cpu);

  enum class TranslationKind : uint8_t { kNone, kLive, kStaleIotlb, kDirect, kBounce };
  struct Translation {
    TranslationKind kind = TranslationKind::kNone;
    Pfn pfn = 0;
  };
  // What a device access to `addr` reaches.
  Translation Translate(DmaAddr addr) const;

  // Domain-wide IOTLB flush: every queued IOVA is released for reuse.
  void FlushIotlb();
  size_t queued() const { return queued_; }

  // Device removal: the domain (or TCE window) and its tables are freed.
  void Free();
  bool freed() const { return freed_; }

  size_t mapped_count() const { return mappings_.size(); }
  uint64_t mapped_pages() const { return mapped_pages_; }
  const absl::flat_hash_map<DmaAddr, IovaMapping>& mappings() const { return mappings_; }
  uint64_t flushes() const { return flushes_; }

 private:
  struct Queued {
    DmaAddr iova;
    IovaMapping mapping;
    uint16_t cpu;
  };
  IommuModel model_;
  bool strict_;
  bool ddw_ = true;
  uint32_t mask_bits_ = 64;
  bool freed_ = false;
  IovaAllocator iova_;
  DmaAddr ddw_next_ = kDdwWindowBase;  // the next TCE, in whichever window this device has
  absl::flat_hash_map<DmaAddr, IovaMapping> mappings_;
  uint64_t mapped_pages_ = 0;
  std::vector<std::vector<Queued>> flush_queues_;  // per CPU
  size_t queued_ = 0;
  uint64_t flushes_ = 0;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_IOMMU_H_
