// Teardown strategies: what a pool does about the DMA mappings of its pages when it is
// destroyed while pages are still in flight (docs/design.md §3.6, docs/kernel/page-pool.md §5).
//
// One interface, one implementation per file in strategies/, one row each in the registry
// (StrategyRegistry()). A strategy instance belongs to one pool and keeps that pool's tracking
// state. The pool calls the hooks at the points where the kernel patches hook in:
//   page enters the pool (after the DMA map) → OnEnter
//   page leaves the pool (page_pool_return_netmem) → ShouldUnmapOnRelease
//   first scrub of page_pool_destroy → OnFirstScrub
//   destroy found pages still in flight → OnDetach
//   the device is removed → RemovalWait
// Each strategy charges virtual time from the lab's CostModel and reports its costs.
#ifndef PPSIM_SERVER_SIM_TEARDOWN_STRATEGY_H_
#define PPSIM_SERVER_SIM_TEARDOWN_STRATEGY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/sim/memory.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;
class PagePool;

struct StrategyCosts {
  Nanos virtual_ns = 0;         // virtual time charged so far (destroy walks, tracking)
  Nanos max_lock_hold_ns = 0;   // longest BH-disabling lock hold it imposed
  uint64_t host_ns = 0;         // host time spent in its destroy-time work
  uint64_t memory_bytes = 0;    // current tracking memory (items, xarray nodes)
  uint64_t peak_memory_bytes = 0;
  uint64_t destroy_unmaps = 0;  // pages unmapped by a destroy-time walk
  uint64_t tracking_failures = 0;  // item exhaustion (item_fast_empty), xa_alloc failures
};

class TeardownStrategy {
 public:
  virtual ~TeardownStrategy() = default;
  virtual absl::string_view name() const = 0;

  // A page entered the pool (`mapped`: the pool DMA-mapped it). An error makes the entry fail:
  // the pool unmaps and frees the page and the allocation fails (item exhaustion, xa_alloc
  // failure).
  virtual absl::Status OnEnter(Machine& m, PagePool& pool, Pfn pfn, Frame& f, bool mapped) = 0;
  // The page leaves the pool. Returns true if the pool must call dma_unmap for it now. Called
  // for every page leaving, mapped or not, so tracking can be released.
  virtual bool ShouldUnmapOnRelease(Machine& m, PagePool& pool, Pfn pfn, Frame& f) = 0;
  // First scrub of page_pool_destroy, after the alloc cache was emptied.
  virtual void OnFirstScrub(Machine& m, PagePool& pool) { (void)m, (void)pool; }
  // Destroy found `inflight` > 0 pages. Returns true if the pool may be freed now.
  virtual bool OnDetach(Machine& m, PagePool& pool, int32_t inflight) {
    (void)m, (void)pool, (void)inflight;
    return false;
  }
  // How device removal treats this pool's outstanding mappings: 0 = remove at once; otherwise
  // removal polls every `poll` until they are gone, for at most `limit` (tce-wait).
  struct RemovalWait {
    Nanos poll = 0;
    Nanos limit = 0;
  };
  virtual RemovalWait Removal() const { return {}; }

  const StrategyCosts& costs() const { return costs_; }

 protected:
  static uint64_t HostNanos();
  void Charge(Machine& m, Nanos ns);  // adds to costs_ and advances the clock
  void AddMemory(int64_t delta_bytes);
  StrategyCosts costs_;
};

struct StrategyInfo {
  absl::string_view name;
  absl::string_view models;  // what kernel behaviour or patch it models
  std::function<std::unique_ptr<TeardownStrategy>(const Machine&, const PagePool&)> make;
};
std::span<const StrategyInfo> StrategyRegistry();
absl::StatusOr<const StrategyInfo*> FindStrategy(absl::string_view name);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_TEARDOWN_STRATEGY_H_
