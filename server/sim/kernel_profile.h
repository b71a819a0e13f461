// Kernel profiles: the behaviour of one kernel era and architecture (docs/design.md §3.7).
//
// This issue carries the switches the page_pool and IOMMU model need; the skb rules join when
// the skb model lands. Each switch cites where the behaviour comes from.
#ifndef PPSIM_SERVER_SIM_KERNEL_PROFILE_H_
#define PPSIM_SERVER_SIM_KERNEL_PROFILE_H_

#include <cstdint>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ppsim::sim {

// kX86_32 is i386 (PAGE_OFFSET 0xC0000000, a compile-time constant); kRiscv32Nommu is a 32-bit
// build whose PAGE_OFFSET is phys_ram_base, known only at run time.
enum class Arch : uint8_t { kX86_64, kPpc64, kX86_32, kRiscv32Nommu };
absl::string_view ArchName(Arch arch);

// How skb_try_coalesce treats pp and non-pp skbs (docs/kernel/skb-and-iommu.md §2, §2.1 B2/B3).
enum class CoalesceRule : uint8_t {
  kAnyMix,            // <= 5.17: no pp check; a cloned `from` gets page refs (B2)
  kClonedFromNonPpTo, // 1effe8ca4e34 (5.18): to.pp == (from.pp && !cloned(from)); cloned(from)
                      // is read twice, so a clone freed in between skips the refs (B3)
  kSameNoClonedPp,    // 0646dc31ca88 (6.3): to.pp == from.pp and no cloned pp `from`
  kSamePpFragRef,     // f7dc3248dcfb (6.8): to.pp == from.pp; a cloned pp `from` gets pp refs
};
absl::string_view CoalesceRuleName(CoalesceRule r);

// When a put that did not ask for direct recycling may still use the lockless alloc cache
// (docs/kernel/page-pool.md §3.4).
enum class DirectRecycleRule : uint8_t {
  kCallerOnly,   // <= 6.3: only the caller's allow_direct; the skb path never recycles directly
  kSkbNapiSafe,  // 8c48eea3adf3 (6.4): the skb free path, when napi_safe (or, since
                 // 4a36d0180c45, in softirq) and the pool's NAPI is being polled on this CPU
                 // (napi->list_owner); driver puts are not promoted
  kNapiLocal,    // 4a96a4e807c3 (6.10): every put in softirq, page_pool_napi_local() (pool's
                 // cpuid or its NAPI's list_owner is this CPU), bulk puts included
};
absl::string_view DirectRecycleRuleName(DirectRecycleRule r);

// Where a dma_unmap_page goes after the device was removed (device_del ->
// iommu_release_device): the IOMMU core and the vendor driver decide whether the device still
// points at iommu-dma, whose unmap looks up the device's IOMMU group, gone with the device.
enum class IommuReleaseRule : uint8_t {
  kDriverOps,        // before b5c58b2fdc42 (6.12): dev->dma_ops; Intel's release_device sets
                     // them to NULL (6.1 drivers/iommu/intel/iommu.c:intel_iommu_release_device)
                     // and the late unmap is dma-direct's; AMD (amd_iommu_release_device) and
                     // arm-smmu-v3 (arm_smmu_release_device) keep iommu_dma_ops: NULL
                     // dereference in iommu_get_dma_domain (6.1.176 + QEMU amd-iommu observed)
  kDmaIommuKept,     // b5c58b2fdc42 (6.12, "dma-mapping: direct calls for dma-iommu") until
                     // 280e5a301005: dev->dma_iommu is never cleared, every vendor oopses
  kDmaIommuCleared,  // 280e5a301005 (6.15-rc2, "iommu: Clear iommu-dma ops on cleanup"; Debian
                     // 6.12.26): every vendor's late unmap is dma-direct's, a no-op
};
absl::string_view IommuReleaseRuleName(IommuReleaseRule r);

// How skb_attempt_defer_free bounds a CPU's deferred-free list (docs/kernel/skb-and-iommu.md
// §3.2). In both bounded eras the skb queued when the count reads sysctl_skb_defer_max / 2
// kicks the owning CPU (an IPI that raises NET_RX there, which flushes the list).
enum class SkbDeferRule : uint8_t {
  kAbsent,          // before 68822bdf76f1 (5.19) there is no defer list: the reader frees
  kCheckThenCount,  // 39564c3fdc66 (5.19): a list already holding the max frees at once;
                    // otherwise the skb is queued and counted (at most max queued)
  kCountThenCheck,  // the 2025 llist series (in 6.19): the count is raised first and the skb
                    // freed at once when it reaches the max; it counts every attempt until
                    // the flush (at most max - 1 queued)
};
absl::string_view SkbDeferRuleName(SkbDeferRule r);

struct KernelProfile {
  std::string name;
  Arch arch = Arch::kX86_64;
  // Teardown strategy used when neither the pool nor the lab picks one: `legacy` up to v6.14,
  // `dma-tracking` from v6.15 (ee62ce7a1d90; docs/kernel/page-pool.md §5d).
  std::string default_strategy = "legacy";
  // Before page_pool netlink (v6.8) the "stalled pool shutdown" warning was printed for every
  // pool; since then only for pools invisible to user space (docs/kernel/page-pool.md §5a, §4.1).
  bool stalled_warn_all_pools = false;
  // v6.15+: the pp_magic mask also hides the DMA-index bits (docs/kernel/page-pool.md §1.2–§1.3).
  bool pp_magic_has_dma_index = false;
  // The name of the pp reference counter: pp_frag_count (5.15–6.7), pp_ref_count (6.8+,
  // 0a149ab78ee2).
  std::string pp_ref_count_name = "pp_ref_count";
  // Every page handed out starts with one pp reference. Before 58d53d8f7da6 (6.7) the count was
  // set only by page_pool_fragment_page: a whole page of a pool reads 0 and its put never
  // touches the count (6.1's page_pool_is_last_frag; the oracle sees pp_frag_count 0 on 6.1.176).
  bool pp_ref_on_every_page = true;
  DirectRecycleRule direct_recycle_rule = DirectRecycleRule::kNapiLocal;
  // Destroy unlinks the pool from its NAPI and WARNs when that NAPI is still enabled
  // (dd64b232deb8, 6.4, page_pool_unlink_napi; renamed page_pool_disable_direct_recycling by
  // 56ef27e3abe6, 6.9, and callable by drivers). The oracle sees the WARN on 6.12.95 and 7.3.4,
  // for destroy and for the direct call; 6.1 has neither.
  bool has_disable_direct_recycling = true;
  // NAPI ids are assigned at napi_enable, not at netif_napi_add (86e25f40aa1e, 6.13): a NAPI that
  // was never enabled has id 0, which netlink leaves out (7.3.4 observed).
  bool napi_id_at_enable = false;
  // The netlink dump reads the pool's NAPI id live through p.napi, cleared at destroy, instead of
  // the copy page_pool_list stashed at creation (67e4bb2ced0f): 6.12 keeps napi-id after destroy
  // and unregister, 7.3 drops it at destroy.
  bool netlink_napi_id_live = false;
  // With DMA tracking, destroy unmaps the pages still in flight and, as ee62ce7a1d90 did,
  // zeroes the address stored in each (6.15; Debian 6.12.95's backport). 24ef02f934ee (7.3, a
  // use-after-free fix) unmaps only and leaves the address stale until the page comes back.
  bool destroy_unmap_clears_dma_addr = false;
  // The page allocator checks every freed page (is_check_pages_enabled(): DEBUG_VM, or
  // init_on_alloc/init_on_free since 700d2e9a36b9, 6.3; Debian sets INIT_ON_ALLOC_DEFAULT_ON), so
  // a pool page freed with its signature is a bad page, "page_pool leak", and never reused
  // (6.12.95, 7.3.4 observed). Before, an order-0 free skipped the checks without DEBUG_VM: the
  // page went back to the free lists silently, the pool still counting it (6.1.176 observed).
  bool free_checks_pages = true;
  IommuReleaseRule iommu_release_rule = IommuReleaseRule::kDmaIommuCleared;
  // The release worker stops at a negative inflight (43130d02baa1, 6.15, in 6.1.y and 6.12.y
  // stable); before, only 0 stopped it and a negative count WARNed every second forever.
  bool release_retry_stops_on_negative = true;
  // dev->dma_skip_sync (f406c8e4b770, 6.11): dma_set_mask_and_coherent() sets it for a coherent
  // dma-direct device, the first swiotlb bounce clears it, and the sync calls return at once
  // while it is set. The oracle's swiotlb probe: a second dma_set_mask_and_coherent() with
  // bounced pages mapped sets it again and their syncs for the CPU then copy nothing (6.12.95,
  // 7.3.4); 6.1.176 has no flag and always syncs.
  bool dma_skip_sync = true;

  // ---- skb rules (docs/kernel/skb-and-iommu.md §1–§2) -----------------------------------------
  // skb_release_data clears pp_recycle on every exit, so only the last clone recycles
  // (2cc3aeb5eccc, 5.14-rc). Off = the race B1.
  bool release_data_clears_pp_recycle = true;
  CoalesceRule coalesce_rule = CoalesceRule::kSamePpFragRef;
  // skb_gro_receive refuses to merge skbs whose pp_recycle differ (7d2c89b32587, 6.2). Off = B4.
  bool gro_refuses_pp_mix = true;
  // __skb_frag_ref takes a pp reference on pp pages of a pp skb (a580ea994fd3, net-next 2024,
  // reverted by 173e7622ccb3 before any release). On = B5.
  bool frag_ref_takes_pp_ref = false;
  // ESP output releases the original frag pages with put_page (fixed by c3198822c6cb, 6.9-rc,
  // which uses skb_page_unref). On = B6.
  bool esp_releases_with_put_page = false;
  // page_pool_release takes and drops the ring producer lock before freeing the pool, and the
  // ring stat is bumped inside the lock (271683bb2cf3, 2025, tagged stable). Off = B8.
  bool release_syncs_producer_lock = true;
  // BIAS_MAX, the bias a fragmented page starts with, is LONG_MAX >> 1 since "page_pool: halve
  // BIAS_MAX for multiple user references of a fragment" (Liang Chen, with f7dc3248dcfb, 6.8);
  // LONG_MAX from 53e0961da1c7 (5.15) until then (docs/kernel/page-pool.md §3.2).
  bool bias_max_halved = true;
  SkbDeferRule skb_defer_rule = SkbDeferRule::kCheckThenCount;
  // net.core.skb_defer_max (sysctl_skb_defer_max, default 64 since 39564c3fdc66).
  uint32_t skb_defer_max = 64;
  // Not a kernel behaviour: a pool that recycles pfmemalloc pages, for checking that the
  // checker catches it (PP016). The kernel's __page_pool_page_can_be_recycled refuses them.
  bool pool_recycles_pfmemalloc = false;

  // BIAS_MAX for this era and word size: pp_ref_count is an atomic_long_t, so LONG_MAX is
  // 2^63 - 1 on 64-bit and 2^31 - 1 on the 32-bit arches.
  int64_t BiasMax() const;
  // PP_SIGNATURE = 0x40 + POISON_POINTER_DELTA of the architecture (docs/kernel/page-pool.md §1.2).
  uint64_t PoisonPointerDelta() const;
  uint64_t PpSignature() const { return 0x40 + PoisonPointerDelta(); }
  // PAGE_OFFSET when it is a compile-time constant (32-bit arches without a poison delta), 0
  // when it is not or does not matter.
  uint64_t ConstantPageOffset() const;
  // PP_DMA_INDEX_BITS: 32 on x86-64, 21 on ppc64; without a poison delta (32-bit) the lowest
  // set bit of a constant PAGE_OFFSET bounds them (95920c2ed02b): 23 on i386, and 0 (tracking
  // off) where PAGE_OFFSET is not a constant. 0 when the profile predates DMA tracking.
  uint32_t DmaIndexBits() const;
  static constexpr uint32_t kDmaIndexShift = 7;  // PP_DMA_INDEX_SHIFT
  uint64_t DmaIndexMask() const;
  // PP_MAGIC_MASK: what "is this a pp page" compares after masking (§1.2).
  uint64_t PpMagicMask() const { return ~(DmaIndexMask() | 0x3ULL); }

  // Overrides one switch by name (docs/design.md §3.7: single switches can be overridden in
  // LabConfig). Booleans take true/false; coalesce_rule takes a CoalesceRuleName.
  absl::Status ApplySwitch(absl::string_view name, absl::string_view value);
};

// The names ApplySwitch accepts, with what each means.
struct ProfileSwitchInfo {
  absl::string_view name;
  absl::string_view what;
};
std::span<const ProfileSwitchInfo> ProfileSwitches();

// Built-in profiles: v5.14, v6.1.0, v6.1, v6.8, v6.12, v6.15, v7.3 (x86-64); v6.1-ppc64,
// v6.12-ppc64, v7.2-ppc64, v6.15-ppc64 (pseries); v6.15-32bit (i386), v6.15-riscv32-nommu.
std::span<const KernelProfile> BuiltinProfiles();
absl::StatusOr<KernelProfile> FindProfile(absl::string_view name);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_KERNEL_PROFILE_H_
