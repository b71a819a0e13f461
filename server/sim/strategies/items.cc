// `items`: Yunsheng Lin's item-block tracking, RFCv5 → v11 (docs/kernel/page-pool.md §5c; cover
// 20250307092356.638242-1-linyunsheng@huawei.com). Each page in the pool occupies a 16-byte
// item from page-sized blocks preallocated for 2*pool_size + PP_ALLOC_CACHE_SIZE +
// PAGE_POOL_MIN_INFLIGHT_ITEMS (512); an item records USED and MAPPED. Destroy waits a grace
// period and unmaps every MAPPED item (O(items)); a late return finds MAPPED clear and skips
// the unmap. Before the "unlimited inflight" patch, allocation fails once items run out
// (item_fast_empty). Costs +10–20 ns per page through the allocator.
#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

constexpr uint32_t kMinInflightItems = 512;  // PAGE_POOL_MIN_INFLIGHT_ITEMS
constexpr uint32_t kItemBytes = 16;
constexpr uint32_t kItemsPerBlock = kPageSize / kItemBytes;  // back-pointer ignored

class ItemsStrategy final : public TeardownStrategy {
 public:
  explicit ItemsStrategy(const PagePool& pool)
      : capacity_(2 * pool.ring_size() + PP_ALLOC_CACHE_SIZE + kMinInflightItems) {
    const uint64_t blocks = (capacity_ + kItemsPerBlock - 1) / kItemsPerBlock;
    AddMemory(static_cast<int64_t>(blocks * kPageSize));
  }

  absl::string_view name() const override { return "items"; }

  absl::Status OnEnter(Machine& m, PagePool& pool, Pfn pfn, Frame&, bool mapped) override {
    if (items_.size() >= capacity_) {
      ++costs_.tracking_failures;  // item_fast_empty
      if (!warned_) {
        warned_ = true;
        m.Log(LogLevel::kWarn,
              absl::StrCat("page_pool(", pool.id(), "): no free item: ", capacity_,
                           " items in use (rx_pp_alloc_item_fast_empty)"),
              pool.id());
      }
      return absl::ResourceExhaustedError("page_pool item exhaustion");
    }
    items_.emplace(pfn, mapped);
    Charge(m, m.config.cost.item_ns_per_page);
    return absl::OkStatus();
  }

  bool ShouldUnmapOnRelease(Machine& m, PagePool&, Pfn pfn, Frame&) override {
    auto it = items_.find(pfn);
    if (it == items_.end()) return true;  // not tracked: cannot happen for pages of this pool
    const bool mapped = it->second;
    items_.erase(it);
    Charge(m, m.config.cost.item_ns_per_page);
    return mapped;
  }

  void OnFirstScrub(Machine& m, PagePool& pool) override {
    if (!pool.dma_map()) return;
    const uint64_t start = HostNanos();
    Charge(m, m.config.cost.synchronize_net_ns);
    for (auto& [pfn, mapped] : items_) {
      if (!mapped) continue;
      UnmapForTeardown(m, pool, pfn, m.memory.At(pfn));
      mapped = false;
      ++costs_.destroy_unmaps;
      Charge(m, m.config.cost.destroy_unmap_ns_per_page);
    }
    costs_.host_ns += HostNanos() - start;
  }

 private:
  const uint64_t capacity_;
  absl::btree_map<Pfn, bool> items_;  // pfn → MAPPED
  bool warned_ = false;
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeItemsStrategy(const Machine&, const PagePool& pool) {
  return std::make_unique<ItemsStrategy>(pool);
}

}  // namespace ppsim::sim
