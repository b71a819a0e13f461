// Kernel profiles: the behaviour of one kernel era and architecture (design.md §3.7).
//
// This issue carries the switches the page_pool and IOMMU model need; the skb rules join when
// the skb model lands. Each switch cites where the behaviour comes from.
#ifndef PPSIM_SERVER_SIM_KERNEL_PROFILE_H_
#define PPSIM_SERVER_SIM_KERNEL_PROFILE_H_

#include <cstdint>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace ppsim::sim {

enum class Arch : uint8_t { kX86_64, kPpc64, kX86_32 };
absl::string_view ArchName(Arch arch);

struct KernelProfile {
  std::string name;
  Arch arch = Arch::kX86_64;
  // Teardown strategy used when neither the pool nor the lab picks one: `legacy` up to v6.14,
  // `dma-tracking` from v6.15 (ee62ce7a1d90; kernel/page-pool.md §5d).
  std::string default_strategy = "legacy";
  // Before page_pool netlink (v6.8) the "stalled pool shutdown" warning was printed for every
  // pool; since then only for pools invisible to user space (kernel/page-pool.md §5a, §4.1).
  bool stalled_warn_all_pools = false;
  // v6.15+: the pp_magic mask also hides the DMA-index bits (kernel/page-pool.md §1.2–§1.3).
  bool pp_magic_has_dma_index = false;

  // PP_SIGNATURE = 0x40 + POISON_POINTER_DELTA of the architecture (kernel/page-pool.md §1.2).
  uint64_t PoisonPointerDelta() const;
  uint64_t PpSignature() const { return 0x40 + PoisonPointerDelta(); }
  // PP_DMA_INDEX_BITS: 32 on x86-64, 21 on ppc64, 0 on 32-bit after 95920c2ed02b (tracking
  // compiled out there). 0 when the profile predates DMA tracking.
  uint32_t DmaIndexBits() const;
  static constexpr uint32_t kDmaIndexShift = 7;  // PP_DMA_INDEX_SHIFT
  uint64_t DmaIndexMask() const;
  // PP_MAGIC_MASK: what "is this a pp page" compares after masking (§1.2).
  uint64_t PpMagicMask() const { return ~(DmaIndexMask() | 0x3ULL); }
};

// Built-in profiles: v5.14, v6.1, v6.8, v6.15 (x86-64), v6.15-ppc64, v6.15-32bit.
std::span<const KernelProfile> BuiltinProfiles();
absl::StatusOr<KernelProfile> FindProfile(absl::string_view name);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_KERNEL_PROFILE_H_
