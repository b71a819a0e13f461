#include "server/sim/teardown_strategy.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/sim/device.h"
#include "server/sim/dma_api.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {

uint64_t TeardownStrategy::HostNanos() {
  return static_cast<uint64_t>(absl::GetCurrentTimeNanos());
}

void TeardownStrategy::Charge(Machine& m, Nanos ns) {
  costs_.virtual_ns += ns;
  m.op_cost_ns += ns;
}

void TeardownStrategy::AddMemory(int64_t delta_bytes) {
  costs_.memory_bytes = static_cast<uint64_t>(static_cast<int64_t>(costs_.memory_bytes) + delta_bytes);
  costs_.peak_memory_bytes = std::max(costs_.peak_memory_bytes, costs_.memory_bytes);
}

void UnmapForTeardown(Machine& m, PagePool& pool, Pfn pfn, Frame& f) {
  m.RecordPage(pfn, f, PageEventKind::kScrubUnmap, f.dma_addr, pool.id());
  if (Device* dev = m.FindDevice(pool.params().dev)) {
    DmaUnmapPage(m, *dev, f.dma_addr, pool.page_bytes(), pool.params().dma_dir,
                 {pfn, pool.id()});
  }
}

std::span<const StrategyInfo> StrategyRegistry() {
  static const std::array<StrategyInfo, 6> kRegistry = {{
      {"legacy", "<= v6.14: deferred release, unmap whenever a page comes back",
       MakeLegacyStrategy},
      {"scan", "RFC v4: walk every pfn at destroy under a BH-disabling lock", MakeScanStrategy},
      {"items", "RFCv5-v11: per-pool item blocks, unmap every mapped item at destroy",
       MakeItemsStrategy},
      {"dma-tracking", "v6.15 (ee62ce7a1d90): xarray of mapped pages, unmap all at destroy",
       MakeDmaTrackingStrategy},
      {"tce-wait", "powerpc proposal: device removal waits up to 120 s for TCEs to drain",
       MakeTceWaitStrategy},
      {"release-on-destroy", "Jesper's idea: convert pool references to page references",
       MakeReleaseOnDestroyStrategy},
  }};
  return kRegistry;
}

absl::StatusOr<const StrategyInfo*> FindStrategy(absl::string_view name) {
  std::string known;
  for (const StrategyInfo& s : StrategyRegistry()) {
    if (s.name == name) return &s;
    absl::StrAppend(&known, known.empty() ? "" : ", ", s.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("strategy: unknown teardown strategy \"", name, "\"; known: ", known));
}

}  // namespace ppsim::sim
