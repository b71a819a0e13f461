// LabConfig: everything that defines a simulated machine (docs/design.md §3.1). Two labs with the
// same config and the same op sequence produce the same digest.
#ifndef PPSIM_SERVER_SIM_LAB_CONFIG_H_
#define PPSIM_SERVER_SIM_LAB_CONFIG_H_

#include <cstdint>
#include <span>
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

// The two rates the seed thread measured for the RFC v4 scan (docs/kernel/page-pool.md §5b),
// kept as presets for CostModel::scan_ns_per_pfn:
// Jesper Dangaard Brouer's x86, ~0.39 s for 384 GB, 100,592,572 pages (msg
// 17a24d69-7bf0-412c-a32a-b25d82bb4159@kernel.org): ~3.88 ns per pfn.
inline constexpr double kScanNsPerPfnX86 = 0.39e9 / 100'592'572.0;
// Yunsheng Lin's arm64, ~1.3 s for "> 300 GB" (taken as 300e9 bytes of 4 KiB pages): ~17.7 ns
// per pfn. At this rate a 12.3 TB scan holds the lock past the 20 s soft-lockup line.
inline constexpr double kScanNsPerPfnArm64 = 1.3e9 / (300e9 / static_cast<double>(kPageSize));

struct ScanRatePreset {
  absl::string_view name;  // "x86" (Jesper's), "arm64" (Yunsheng's)
  double ns_per_pfn;
};
std::span<const ScanRatePreset> ScanRatePresets();
// The preset's ns per pfn; the error lists the names.
absl::StatusOr<double> FindScanRatePreset(absl::string_view name);

// Virtual-time prices of the work the kernel does. Defaults are the published measurements
// cited next to each field; scenarios may override them (e.g. Yunsheng's slower scan rate).
struct CostModel {
  // RFC v4 scan: Jesper's x86 rate by default; kScanNsPerPfnArm64 is the other measured one.
  double scan_ns_per_pfn = kScanNsPerPfnX86;
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
