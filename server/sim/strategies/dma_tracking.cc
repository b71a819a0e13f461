// `dma-tracking`: the merged v6.15 fix, ee62ce7a1d90 "page_pool: Track DMA-mapped pages and
// unmap them when destroying the pool" (docs/kernel/page-pool.md §5d, §1.3, §3.1, §3.5, §4.1).
//
// Every mapping gets an id in the pool's `dma_mapped` xarray (1..2^PP_DMA_INDEX_BITS-1, lowest
// free first as xa_alloc does) stored in pp_magic's middle bits. Release removes it with a
// cmpxchg and only the winner unmaps, so each mapping is unmapped exactly once; the first
// scrub clears dma_sync, waits a grace period if the device syncs, and unmaps every tracked
// page without taking a page reference. Where PP_DMA_INDEX_BITS is 0 (32-bit after
// 95920c2ed02b) tracking is compiled out and the legacy late unmap returns.
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "server/sim/device.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

class DmaTrackingStrategy final : public TeardownStrategy {
 public:
  explicit DmaTrackingStrategy(const Machine& m)
      : bits_(m.profile.DmaIndexBits()),
        mask_(m.profile.DmaIndexMask()),
        limit_(bits_ == 0 ? 0 : static_cast<uint32_t>((uint64_t{1} << bits_) - 1)) {}

  absl::string_view name() const override { return "dma-tracking"; }

  absl::Status OnEnter(Machine& m, PagePool& pool, Pfn pfn, Frame& f, bool mapped) override {
    if (!mapped || bits_ == 0) return absl::OkStatus();
    if (m.ShouldFail(FaultSite::kFailDmaTrack,
                     {.pool = pool.id(), .device = pool.params().dev, .ctx = m.ctx}, pfn)) {
      return absl::ResourceExhaustedError("xa_alloc: -ENOMEM");  // silent: ENOMEM
    }
    uint32_t id;
    if (!free_ids_.empty()) {
      id = *free_ids_.begin();
      free_ids_.erase(free_ids_.begin());
    } else if (next_id_ <= limit_) {
      id = next_id_++;
    } else {
      if (!warned_) {
        warned_ = true;
        m.Log(LogLevel::kWarn, "WARNING: couldn't track DMA mapping, please report to netdev@",
              pool.id());
      }
      return absl::ResourceExhaustedError("xa_alloc: -EBUSY (DMA index space exhausted)");
    }
    xa_.emplace(id, pfn);
    f.pp_magic = (f.pp_magic & ~mask_) | (uint64_t{id} << KernelProfile::kDmaIndexShift);
    Charge(m, m.config.cost.dma_track_alloc_ns);
    UpdateMemory();
    return absl::OkStatus();
  }

  bool ShouldUnmapOnRelease(Machine& m, PagePool&, Pfn pfn, Frame& f) override {
    if (bits_ == 0) return true;
    const uint32_t id = static_cast<uint32_t>((f.pp_magic & mask_) >> KernelProfile::kDmaIndexShift);
    if (id == 0) return false;
    auto it = xa_.find(id);
    if (it == xa_.end() || it->second != pfn) return false;  // the scrub won the cmpxchg
    xa_.erase(it);
    free_ids_.insert(id);
    Charge(m, m.config.cost.dma_track_erase_ns);
    UpdateMemory();
    return true;
  }

  void OnFirstScrub(Machine& m, PagePool& pool) override {
    if (!pool.dma_map() || bits_ == 0) return;
    const uint64_t start = HostNanos();
    Device* dev = m.FindDevice(pool.params().dev);
    if (pool.dma_sync()) {
      pool.ClearDmaSync();
      if (dev != nullptr && dev->needs_sync && !xa_.empty()) {
        Charge(m, m.config.cost.synchronize_net_ns);  // synchronize_net()
      }
    }
    for (const auto& [id, pfn] : xa_) {
      Frame& f = m.memory.At(pfn);
      UnmapForTeardown(m, pool, pfn, f);
      // Debian 6.12.95's backport zeroes the address; 7.3.4 leaves it stale (the oracle's
      // destroy-held-dma: held pages read dma 0 on one, the old address on the other).
      if (m.profile.destroy_unmap_clears_dma_addr) f.dma_addr = 0;
      free_ids_.insert(id);
      ++costs_.destroy_unmaps;
      Charge(m, m.config.cost.destroy_unmap_ns_per_page);
    }
    xa_.clear();
    UpdateMemory();
    costs_.host_ns += HostNanos() - start;
  }

 private:
  // xa_node: 576 bytes per 64 slots (docs/kernel/page-pool.md §5d).
  void UpdateMemory() {
    const uint64_t nodes = (xa_.size() + 63) / 64;
    AddMemory(static_cast<int64_t>(nodes * 576) - static_cast<int64_t>(costs_.memory_bytes));
  }
  const uint32_t bits_;
  const uint64_t mask_;
  const uint32_t limit_;
  absl::btree_map<uint32_t, Pfn> xa_;
  absl::btree_set<uint32_t> free_ids_;
  uint32_t next_id_ = 1;
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeDmaTrackingStrategy(const Machine& m, const PagePool&) {
  return std::make_unique<DmaTrackingStrategy>(m);
}

}  // namespace ppsim::sim
