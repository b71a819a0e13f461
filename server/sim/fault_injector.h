// Fault injection (docs/design.md §3.10), with the knobs and the decision order of the kernel's
// fault-injection framework (lib/fault-inject.c:should_fail,
// Documentation/fault-injection/fault-injection.rst): probability 0 never fails, then the filter,
// then `times` (0 = exhausted), then the `space` budget, then `interval`, then the
// probability draw. Unlike the kernel, the draw comes from the lab's seeded PRNG, so every
// decision is reproducible, and every decision is reported to the caller for the event log.
#ifndef PPSIM_SERVER_SIM_FAULT_INJECTOR_H_
#define PPSIM_SERVER_SIM_FAULT_INJECTOR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "server/sim/prng.h"
#include "server/sim/types.h"

namespace ppsim::sim {

// Fault sites, named after the kernel's where one exists. One row each in FaultSites().
enum class FaultSite : uint8_t {
  kFailPageAlloc = 0,      // alloc_pages / alloc_pages_bulk return nothing
  kFailDmaMap = 1,         // dma_map_page_attrs returns the mapping-error cookie
  kFailDmaTrack = 2,       // xa_alloc in page_pool_dma_map fails with -ENOMEM
  kDelayHolderRelease = 3, // a stack holder keeps its skb longer (skb model)
  kSurpriseRemove = 4,     // the device disappears (hot unplug / DLPAR) before an op
  kIotlbFlushDelay = 5,    // the lazy IOTLB flush timer fires late
  kStaleDeviceDma = 6,     // the device writes through a descriptor whose IOVA was unmapped
  kReleaseDuringRingProduce = 7,  // a destroyed pool's release worker runs between a ring
                                  // produce and the producer's unlock (271683bb2cf3's race)
};
inline constexpr int kFaultSiteCount = 8;

struct FaultSiteInfo {
  FaultSite site;
  absl::string_view name;
  absl::string_view what;
  bool uses_delay;  // whether FaultSpec::delay_ns means something here
};
std::span<const FaultSiteInfo> FaultSites();
const FaultSiteInfo& FaultSiteOf(FaultSite site);
absl::StatusOr<FaultSite> ParseFaultSite(absl::string_view name);

// What a decision is about; the filter compares against it. Zero fields mean "not known".
struct FaultTarget {
  PoolId pool = 0;
  DeviceId device = 0;
  ExecContext ctx;
};

struct FaultFilter {
  PoolId pool = 0;                // 0 = any pool
  DeviceId device = 0;            // 0 = any device
  std::optional<CtxKind> ctx;     // unset = any context
};

struct FaultSpec {
  double probability = 1.0;  // in [0, 1]; the kernel's percent / 100
  uint64_t interval = 1;     // only every Nth eligible call can fail (>= 1)
  int64_t times = -1;        // maximum failures; -1 = unlimited
  uint64_t space = 0;        // byte budget consumed before any failure
  FaultFilter filter;
  Nanos delay_ns = 0;        // for delay sites: how long the delay is

  // Names the field and the value on error.
  absl::Status Validate(FaultSite site) const;
};

struct FaultDecision {
  bool evaluated = false;  // the site was armed and the target passed the filter
  bool fire = false;
};

class FaultInjector {
 public:
  void Set(FaultSite site, const FaultSpec& spec);
  void Clear(FaultSite site);
  void ClearAll();
  bool armed(FaultSite site) const { return state_[Index(site)].spec.has_value(); }
  const std::optional<FaultSpec>& spec(FaultSite site) const { return state_[Index(site)].spec; }

  // One decision. `size` is what the call consumes from `space` (bytes for allocations).
  FaultDecision Decide(FaultSite site, const FaultTarget& target, Prng& prng, uint64_t size = 1);

  uint64_t injected(FaultSite site) const { return state_[Index(site)].injected; }
  uint64_t evaluated(FaultSite site) const { return state_[Index(site)].evaluated; }

 private:
  static size_t Index(FaultSite s) { return static_cast<size_t>(s); }
  struct State {
    std::optional<FaultSpec> spec;
    uint64_t count = 0;      // eligible calls seen (for interval)
    int64_t times_left = -1;
    uint64_t space_left = 0;
    uint64_t injected = 0;   // lifetime, survives Clear (metrics)
    uint64_t evaluated = 0;
  };
  std::array<State, kFaultSiteCount> state_;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_FAULT_INJECTOR_H_
