#include "server/sim/kernel_profile.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ppsim::sim {

absl::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kX86_64: return "x86_64";
    case Arch::kPpc64: return "ppc64";
    case Arch::kX86_32: return "x86_32";
  }
  return "?";
}

// CONFIG_ILLEGAL_POINTER_VALUE per architecture (include/linux/poison.h; kernel/page-pool.md
// §1.2): 0xdead000000000000 on x86-64, 0x5deadbeef0000000 on ppc64, 0 on 32-bit x86.
uint64_t KernelProfile::PoisonPointerDelta() const {
  switch (arch) {
    case Arch::kX86_64: return 0xdead000000000000ULL;
    case Arch::kPpc64: return 0x5deadbeef0000000ULL;
    case Arch::kX86_32: return 0;
  }
  return 0;
}

// PP_DMA_INDEX_BITS = min(32, lowest set bit of the delta - 7) with a non-zero delta; 0 on
// 32-bit builds where PAGE_OFFSET leaves fewer than 8 bits (95920c2ed02b).
uint32_t KernelProfile::DmaIndexBits() const {
  if (!pp_magic_has_dma_index) return 0;
  const uint64_t delta = PoisonPointerDelta();
  if (delta == 0) return 0;
  const uint32_t lowest = static_cast<uint32_t>(__builtin_ctzll(delta));
  const uint32_t bits = lowest - kDmaIndexShift;
  return bits > 32 ? 32 : bits;
}

uint64_t KernelProfile::DmaIndexMask() const {
  const uint32_t bits = DmaIndexBits();
  if (bits == 0) return 0;
  return ((uint64_t{1} << bits) - 1) << kDmaIndexShift;
}

std::span<const KernelProfile> BuiltinProfiles() {
  static const std::array<KernelProfile, 6> kProfiles = {{
      {.name = "v5.14", .arch = Arch::kX86_64, .default_strategy = "legacy",
       .stalled_warn_all_pools = true, .pp_magic_has_dma_index = false},
      {.name = "v6.1", .arch = Arch::kX86_64, .default_strategy = "legacy",
       .stalled_warn_all_pools = true, .pp_magic_has_dma_index = false},
      {.name = "v6.8", .arch = Arch::kX86_64, .default_strategy = "legacy",
       .stalled_warn_all_pools = false, .pp_magic_has_dma_index = false},
      {.name = "v6.15", .arch = Arch::kX86_64, .default_strategy = "dma-tracking",
       .stalled_warn_all_pools = false, .pp_magic_has_dma_index = true},
      {.name = "v6.15-ppc64", .arch = Arch::kPpc64, .default_strategy = "dma-tracking",
       .stalled_warn_all_pools = false, .pp_magic_has_dma_index = true},
      {.name = "v6.15-32bit", .arch = Arch::kX86_32, .default_strategy = "dma-tracking",
       .stalled_warn_all_pools = false, .pp_magic_has_dma_index = true},
  }};
  return kProfiles;
}

absl::StatusOr<KernelProfile> FindProfile(absl::string_view name) {
  std::vector<std::string> names;
  for (const KernelProfile& p : BuiltinProfiles()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("profile: unknown kernel profile \"", name,
                                          "\"; known: ", absl::StrJoin(names, ", ")));
}

}  // namespace ppsim::sim
