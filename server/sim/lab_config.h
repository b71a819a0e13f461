// LabConfig: everything that defines a simulated machine (docs/design.md §3.1). Two labs with the
// same config and the same op sequence produce the same digest.
#ifndef PPSIM_SERVER_SIM_LAB_CONFIG_H_
#define PPSIM_SERVER_SIM_LAB_CONFIG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/types.h"

namespace ppsim::sim {

// IOMMU models (docs/design.md §3.3, docs/kernel/skb-and-iommu.md §4).
// The translated vendors differ in what a late unmap after device removal reaches
// (KernelProfile::iommu_release_rule).
enum class IommuModel : uint8_t {
  kIntel = 0,        // VT-d DMA domain; strict or lazy (flush queue) invalidation
  kPpcDdw = 1,       // pSeries TCE tables: a dynamic DMA window owned by the device's node
                     // (64-bit mask) or the PHB's default 32-bit window
  kPassthrough = 2,  // no translation: bus address = physical address, never checked
  kAmd = 3,          // AMD-Vi DMA domain, iommu-dma like intel
  kArmSmmu = 4,      // arm-smmu-v3 DMA domain, iommu-dma like intel (the hns3 thread's arm64)
};
absl::string_view IommuModelName(IommuModel m);
absl::Status ParseIommuModel(absl::string_view name, IommuModel* out);

// Virtual-time prices of the work the kernel does. Defaults are the published measurements
// cited next to each field; scenarios may override them (e.g. Yunsheng's slower scan rate).
struct CostModel {
  // RFC v4 scan: Jesper measured ~0.39 s for 100,592,572 pages on a 384 GB x86 box
  // (docs/kernel/page-pool.md §5b) → 3.877 ns per pfn. Yunsheng's arm64 rate is ~17.8 ns.
  double scan_ns_per_pfn = 0.39e9 / 100'592'572.0;
  // Xarray DMA tracking: ~400 ns per map+unmap pair (ee62ce7a1d90 commit message, §5d).
  Nanos dma_track_alloc_ns = 200;
  Nanos dma_track_erase_ns = 200;
  // Item tracking: +10–20 ns per page through the allocator (§5c author's numbers).
  Nanos item_ns_per_page = 15;
  // One dma_unmap_page_attrs done by a destroy-time walk.
  Nanos destroy_unmap_ns_per_page = 100;
  // synchronize_net() under RTNL (expedited grace period) in the first scrub (§4.1).
  Nanos synchronize_net_ns = 1 * kMillisecond;
};

struct LabConfig {
  uint64_t ram_bytes = uint64_t{4} << 30;  // up to 16 TiB; sections materialise on touch
  uint32_t numa_nodes = 1;
  uint32_t cpus = 4;
  IommuModel iommu_model = IommuModel::kIntel;
  // Intel and AMD default to lazy invalidation (flush queue); strict is iommu.strict=1
  // (docs/kernel/skb-and-iommu.md §4.3).
  bool iommu_strict = false;
  std::string profile = "v6.15";
  // Single profile switches overridden for this lab, applied in order (KernelProfile::
  // ApplySwitch names them), e.g. {"gro_refuses_pp_mix", "false"}.
  std::vector<std::pair<std::string, std::string>> profile_switches;
  // Teardown strategy for pools that do not choose one; empty = the profile's default.
  std::string default_strategy;
  CostModel cost;
  uint64_t seed = 1;
  // Bounded memory for the per-page history (the last 16 events of a page are walked from
  // this log) and for stored violation records; counts are never dropped.
  uint32_t page_event_log_capacity = 1u << 20;
  // Per-page history for violation explanations. Off for pure speed runs: violations then
  // carry no history or fault list; the digest and everything else are unchanged.
  bool page_history = true;
  uint32_t max_violation_records = 10'000;

  static constexpr uint64_t kMaxRamBytes = uint64_t{16} << 40;  // 16 TiB
  static constexpr uint32_t kMaxCpus = 256;
  static constexpr uint32_t kMaxNumaNodes = 64;

  // Every error names the field and the value.
  absl::Status Validate() const;
  // The profile with the switches applied.
  absl::StatusOr<KernelProfile> ResolveProfile() const;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_LAB_CONFIG_H_
