// The violation catalog PP001–PP018 (docs/design.md §3.11; PP018 since the kernel oracle's swiotlb
// probe) and the record the checker produces.
// Ids are stable: they appear in scenarios, metrics labels, reports and alert rules.
#ifndef PPSIM_SERVER_SIM_VIOLATION_H_
#define PPSIM_SERVER_SIM_VIOLATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "server/sim/events.h"
#include "server/sim/types.h"

namespace ppsim::sim {

enum class Severity : uint8_t { kWarning = 0, kLeak = 1, kCorruption = 2, kCrash = 3 };
absl::string_view SeverityName(Severity s);

enum class ViolationId : uint8_t {
  kPP001 = 1,  // unmap-after-iommu-teardown
  kPP002,      // dma-api-after-unbind
  kPP003,      // device-dma-unmapped-iova
  kPP004,      // device-dma-reused-iova
  kPP005,      // pending-dma-at-unbind
  kPP006,      // bad-unmap
  kPP007,      // use-after-recycle
  kPP008,      // double-recycle
  kPP009,      // refcount-underflow
  kPP010,      // page-use-after-free
  kPP011,      // page-pool-leak
  kPP012,      // stalled-pool-shutdown
  kPP013,      // bh-disabled-too-long
  kPP014,      // removal-blocked
  kPP015,      // pool-use-after-free
  kPP016,      // wrong-pool-return
  kPP017,      // leak-at-end
  kPP018,      // stale-cpu-read
};
inline constexpr int kViolationCount = 18;

struct CatalogEntry {
  ViolationId id;
  absl::string_view code;  // "PP001"
  absl::string_view name;  // "unmap-after-iommu-teardown"
  Severity severity;      // default severity (PP013 escalates to crash past 20 s)
  absl::string_view when;
};
std::span<const CatalogEntry> ViolationCatalog();
const CatalogEntry& CatalogOf(ViolationId id);
absl::StatusOr<ViolationId> ParseViolationId(absl::string_view code);

// A page event's kind-specific detail in words (dma=0x..., PP001, pp_ref_count=2).
std::string PageEventDetail(const PageEvent& e);

struct Violation {
  ViolationId id = ViolationId::kPP001;
  Severity severity = Severity::kWarning;
  uint64_t op_index = 0;
  Nanos time = 0;
  std::string message;           // what happened, with the kernel's own words where it has any
  std::optional<Pfn> pfn;        // the page, when one is involved
  PoolId pool = 0;
  DeviceId device = 0;
  std::string strategy;          // teardown strategy of the pool involved
  std::vector<PageEvent> history;  // the page's last 16 events, newest first
  std::vector<PageEvent> faults;   // fault decisions that touched the page, newest first

  absl::string_view code() const { return CatalogOf(id).code; }
  // Multi-line explanation: headline, message, history, faults.
  std::string Explain() const;
};

// Violations counted by (id, strategy of the pool involved; "" when none): the metrics'
// ppsim_violations_total{id,strategy} (docs/design.md §5).
using ViolationCountsByStrategy = std::map<std::pair<ViolationId, std::string>, uint64_t>;

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_VIOLATION_H_
