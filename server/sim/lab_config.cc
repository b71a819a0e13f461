#include "server/sim/lab_config.h"

#include "absl/strings/str_cat.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/teardown_strategy.h"

namespace ppsim::sim {

absl::string_view IommuModelName(IommuModel m) {
  switch (m) {
    case IommuModel::kIntel: return "intel";
    case IommuModel::kPpcDdw: return "ppc-ddw";
    case IommuModel::kPassthrough: return "passthrough";
    case IommuModel::kAmd: return "amd";
    case IommuModel::kArmSmmu: return "arm-smmu";
  }
  return "?";
}

absl::Status ParseIommuModel(absl::string_view name, IommuModel* out) {
  for (IommuModel m : {IommuModel::kIntel, IommuModel::kAmd, IommuModel::kArmSmmu,
                       IommuModel::kPpcDdw, IommuModel::kPassthrough}) {
    if (IommuModelName(m) == name) {
      *out = m;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "iommu_model: unknown model \"", name, "\"; expected intel, amd, arm-smmu, ppc-ddw or passthrough"));
}

std::span<const ScanRatePreset> ScanRatePresets() {
  static constexpr ScanRatePreset kPresets[] = {{"x86", kScanNsPerPfnX86},
                                                {"arm64", kScanNsPerPfnArm64}};
  return kPresets;
}

absl::StatusOr<double> FindScanRatePreset(absl::string_view name) {
  for (const ScanRatePreset& p : ScanRatePresets()) {
    if (p.name == name) return p.ns_per_pfn;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "scan_rate: unknown preset \"", name, "\"; expected x86 (Jesper's 0.39 s per 384 GB) or "
      "arm64 (Yunsheng's 1.3 s per 300 GB)"));
}

absl::Status LabConfig::Validate() const {
  if (ram_bytes == 0 || ram_bytes % kPageSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ram_bytes: ", ram_bytes, " must be a positive multiple of the page size ", kPageSize));
  }
  if (ram_bytes > kMaxRamBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ram_bytes: ", ram_bytes, " exceeds the 16 TiB limit (", kMaxRamBytes, ")"));
  }
  if (numa_nodes == 0 || numa_nodes > kMaxNumaNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("numa_nodes: ", numa_nodes, " must be in 1..", kMaxNumaNodes));
  }
  // Each node needs at least one max-order (1024-page) block for the buddy allocator.
  if (ram_bytes / kPageSize / numa_nodes < 1024) {
    return absl::InvalidArgumentError(absl::StrCat("ram_bytes: ", ram_bytes, " gives fewer than ",
                                                   "1024 pages per NUMA node (numa_nodes=",
                                                   numa_nodes, ")"));
  }
  if (cpus == 0 || cpus > kMaxCpus) {
    return absl::InvalidArgumentError(absl::StrCat("cpus: ", cpus, " must be in 1..", kMaxCpus));
  }
  absl::StatusOr<KernelProfile> resolved = ResolveProfile();
  if (!resolved.ok()) return resolved.status();
  if (!FindStrategy(resolved->default_strategy).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "profile_switches.default_", FindStrategy(resolved->default_strategy).status().message()));
  }
  if (!default_strategy.empty()) {
    if (absl::StatusOr<const StrategyInfo*> s = FindStrategy(default_strategy); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("default_", s.status().message()));
    }
  }
  if (!(cost.scan_ns_per_pfn >= 0) || cost.dma_track_alloc_ns < 0 || cost.dma_track_erase_ns < 0 ||
      cost.item_ns_per_page < 0 || cost.destroy_unmap_ns_per_page < 0 ||
      cost.synchronize_net_ns < 0) {
    return absl::InvalidArgumentError("cost: every cost must be >= 0");
  }
  if (page_event_log_capacity < 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_event_log_capacity: ", page_event_log_capacity, " must be at least 16"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KernelProfile> LabConfig::ResolveProfile() const {
  absl::StatusOr<KernelProfile> p = FindProfile(profile);
  if (!p.ok()) return absl::InvalidArgumentError(p.status().message());
  for (const auto& [name, value] : profile_switches) {
    if (absl::Status s = p->ApplySwitch(name, value); !s.ok()) return s;
  }
  // Choosing dma-tracking for the whole lab on an older profile means running its stable
  // backport (ee62ce7a1d90 carries Fixes: ff7d6b27f894, the 2018 page_pool): the patch brings
  // the DMA index in pp_magic and the mask that hides it (docs/kernel/page-pool.md §5d).
  if ((default_strategy.empty() ? p->default_strategy : default_strategy) == "dma-tracking") {
    p->pp_magic_has_dma_index = true;
  }
  return p;
}

}  // namespace ppsim::sim
