#include "server/sim/kernel_profile.h"

#include <array>
#include <initializer_list>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ppsim::sim {

absl::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kX86_64: return "x86_64";
    case Arch::kPpc64: return "ppc64";
    case Arch::kX86_32: return "x86_32";
    case Arch::kRiscv32Nommu: return "riscv32-nommu";
  }
  return "?";
}

// CONFIG_ILLEGAL_POINTER_VALUE per architecture (include/linux/poison.h; docs/kernel/page-pool.md
// §1.2): 0xdead000000000000 on x86-64, 0x5deadbeef0000000 on ppc64, 0 on 32-bit x86.
uint64_t KernelProfile::PoisonPointerDelta() const {
  switch (arch) {
    case Arch::kX86_64: return 0xdead000000000000ULL;
    case Arch::kPpc64: return 0x5deadbeef0000000ULL;
    case Arch::kX86_32:
    case Arch::kRiscv32Nommu: return 0;
  }
  return 0;
}

// net/core/page_pool.c BIAS_MAX: LONG_MAX (53e0961da1c7, 5.15), LONG_MAX >> 1 from 6.8 (msg
// 20231130115611.6632-3-liangchen.linux@gmail.com).
int64_t KernelProfile::BiasMax() const {
  const bool word32 = arch == Arch::kX86_32 || arch == Arch::kRiscv32Nommu;
  const int64_t long_max = word32 ? int64_t{INT32_MAX} : INT64_MAX;
  return bias_max_halved ? long_max >> 1 : long_max;
}

// arch/x86/include/asm/page_32_types.h: __PAGE_OFFSET = CONFIG_PAGE_OFFSET (0xC0000000 with
// the default VMSPLIT_3G); arch/riscv/include/asm/page.h without an MMU: phys_ram_base.
uint64_t KernelProfile::ConstantPageOffset() const {
  return arch == Arch::kX86_32 ? 0xC0000000ULL : 0;
}

// include/linux/mm.h (95920c2ed02b): with a poison delta, min(32, lowest set bit of the delta
// - PP_DMA_INDEX_SHIFT); without one, the same with a PAGE_OFFSET that is a compile-time
// constant, at least 2^(shift + 8) and aligned to it, else 0 (page_pool_register_dma_index
// then tracks nothing).
uint32_t KernelProfile::DmaIndexBits() const {
  if (!pp_magic_has_dma_index) return 0;
  uint64_t bound = PoisonPointerDelta();
  if (bound == 0) {
    const uint64_t min_offset = uint64_t{1} << (kDmaIndexShift + 8);
    const uint64_t offset = ConstantPageOffset();
    if (offset < min_offset || (offset & (min_offset - 1)) != 0) return 0;
    bound = offset;
  }
  const uint32_t lowest = static_cast<uint32_t>(__builtin_ctzll(bound));
  const uint32_t bits = lowest - kDmaIndexShift;
  return bits > 32 ? 32 : bits;
}

uint64_t KernelProfile::DmaIndexMask() const {
  const uint32_t bits = DmaIndexBits();
  if (bits == 0) return 0;
  return ((uint64_t{1} << bits) - 1) << kDmaIndexShift;
}

absl::string_view CoalesceRuleName(CoalesceRule r) {
  switch (r) {
    case CoalesceRule::kAnyMix: return "any-mix";
    case CoalesceRule::kClonedFromNonPpTo: return "cloned-from-non-pp-to";
    case CoalesceRule::kSameNoClonedPp: return "same-no-cloned-pp";
    case CoalesceRule::kSamePpFragRef: return "same-pp-frag-ref";
  }
  return "?";
}

absl::string_view DirectRecycleRuleName(DirectRecycleRule r) {
  switch (r) {
    case DirectRecycleRule::kCallerOnly: return "caller-only";
    case DirectRecycleRule::kSkbNapiSafe: return "skb-napi-safe";
    case DirectRecycleRule::kNapiLocal: return "napi-local";
  }
  return "?";
}

absl::string_view IommuReleaseRuleName(IommuReleaseRule r) {
  switch (r) {
    case IommuReleaseRule::kDriverOps: return "driver-ops";
    case IommuReleaseRule::kDmaIommuKept: return "dma-iommu-kept";
    case IommuReleaseRule::kDmaIommuCleared: return "dma-iommu-cleared";
  }
  return "?";
}

absl::string_view SkbDeferRuleName(SkbDeferRule r) {
  switch (r) {
    case SkbDeferRule::kAbsent: return "absent";
    case SkbDeferRule::kCheckThenCount: return "check-then-count";
    case SkbDeferRule::kCountThenCheck: return "count-then-check";
  }
  return "?";
}

std::span<const KernelProfile> BuiltinProfiles() {
  // Each era's switches follow the version table of docs/kernel/skb-and-iommu.md §1.4.
  // v6.1, v6.12 and v7.3 are Debian's builds of those kernels, stable backports included, as
  // the kernel oracle (tests/oracle/) observed them: 6.1.176, 6.12.95, 7.3.4.
  static const std::array<KernelProfile, 13> kProfiles = [] {
    KernelProfile v514{.name = "v5.14", .default_strategy = "legacy",
                       .stalled_warn_all_pools = true, .pp_ref_count_name = "(none)"};
    v514.coalesce_rule = CoalesceRule::kAnyMix;
    v514.gro_refuses_pp_mix = false;
    v514.esp_releases_with_put_page = true;
    v514.release_syncs_producer_lock = false;
    v514.pp_ref_on_every_page = false;
    v514.direct_recycle_rule = DirectRecycleRule::kCallerOnly;
    v514.has_disable_direct_recycling = false;
    v514.free_checks_pages = false;
    v514.iommu_release_rule = IommuReleaseRule::kDriverOps;
    v514.release_retry_stops_on_negative = false;
    v514.dma_skip_sync = false;
    v514.skb_defer_rule = SkbDeferRule::kAbsent;  // skb_attempt_defer_free is 5.19's
    v514.bias_max_halved = false;
    KernelProfile v610 = v514;
    v610.name = "v6.1.0";  // 6.1 as released, before the stable backports below
    v610.pp_ref_count_name = "pp_frag_count";
    v610.coalesce_rule = CoalesceRule::kClonedFromNonPpTo;
    v610.skb_defer_rule = SkbDeferRule::kCheckThenCount;  // 68822bdf76f1, 39564c3fdc66 (5.19)
    KernelProfile v61 = v610;
    v61.name = "v6.1";
    // Debian's 6.1.176 carries the 6.3 coalesce fix (0646dc31ca88) and the 6.2 GRO fix
    // (7d2c89b32587) as stable backports: the oracle's skb probe saw both refusals on it.
    v61.coalesce_rule = CoalesceRule::kSameNoClonedPp;
    v61.gro_refuses_pp_mix = true;
    v61.release_retry_stops_on_negative = true;  // 43130d02baa1 in 6.1.y (probe changelog)
    KernelProfile v68 = v61;
    v68.name = "v6.8";
    v68.stalled_warn_all_pools = false;
    v68.pp_ref_count_name = "pp_ref_count";
    v68.pp_ref_on_every_page = true;
    v68.coalesce_rule = CoalesceRule::kSamePpFragRef;
    v68.bias_max_halved = true;  // same series as f7dc3248dcfb
    v68.direct_recycle_rule = DirectRecycleRule::kSkbNapiSafe;
    v68.has_disable_direct_recycling = true;
    v68.free_checks_pages = true;
    v68.release_retry_stops_on_negative = false;  // upstream 6.8
    KernelProfile v612 = v68;
    v612.name = "v6.12";
    v612.direct_recycle_rule = DirectRecycleRule::kNapiLocal;
    v612.esp_releases_with_put_page = false;
    v612.release_syncs_producer_lock = true;
    // Debian's 6.12.34+ carries the DMA-tracking backport (ee62ce7a1d90): destroy unmaps every
    // page in flight and zeroes its stored address (6.12.95 observed).
    v612.default_strategy = "dma-tracking";
    v612.pp_magic_has_dma_index = true;
    v612.destroy_unmap_clears_dma_addr = true;
    // 6.12 made iommu-dma a device flag (b5c58b2fdc42) that release left set; Debian's 6.12.26+
    // carries 280e5a301005, which clears it. Upstream 6.12.0-6.12.25: dma-iommu-kept.
    v612.iommu_release_rule = IommuReleaseRule::kDmaIommuCleared;
    v612.release_retry_stops_on_negative = true;  // 43130d02baa1 in 6.12.y
    v612.dma_skip_sync = true;                    // f406c8e4b770, 6.11
    KernelProfile v615 = v612;
    v615.name = "v6.15";
    v615.napi_id_at_enable = true;
    KernelProfile v73 = v615;
    v73.name = "v7.3";
    v73.netlink_napi_id_live = true;  // 67e4bb2ced0f, 6.14
    v73.destroy_unmap_clears_dma_addr = false;  // 24ef02f934ee
    // Eric Dumazet's 2025 series (llist defer list, then one list per NUMA node; in 6.19): the
    // count is raised before the bound is checked.
    v73.skb_defer_rule = SkbDeferRule::kCountThenCheck;
    // Debian's ppc64el builds of the same trees (pseries; tests/oracle probes booted 6.1.176,
    // 6.12.95 and 7.2.11 under QEMU pseries). Only the architecture differs: PP_SIGNATURE's
    // poison delta and the DMA index width. 7.2 has everything 7.3's profile names, 24ef02f934ee
    // included (merged through net during the 7.2 rcs).
    auto ppc64 = [](KernelProfile p, const char* name) {
      p.name = name;
      p.arch = Arch::kPpc64;
      return p;
    };
    KernelProfile x32 = v615;
    x32.name = "v6.15-32bit";
    x32.arch = Arch::kX86_32;
    KernelProfile nommu = v615;
    nommu.name = "v6.15-riscv32-nommu";
    nommu.arch = Arch::kRiscv32Nommu;
    return std::array<KernelProfile, 13>{
        v514, v610, v61, v68, v612, v615, v73,
        ppc64(v61, "v6.1-ppc64"), ppc64(v612, "v6.12-ppc64"), ppc64(v73, "v7.2-ppc64"),
        ppc64(v615, "v6.15-ppc64"), x32, nommu};
  }();
  return kProfiles;
}

namespace {
struct BoolSwitch {
  ProfileSwitchInfo info;
  bool KernelProfile::*field;
};
constexpr std::array<BoolSwitch, 16> kBoolSwitches = {{
    {{"pp_magic_has_dma_index",
      "pp_magic carries the DMA-tracking index and the mask hides it (ee62ce7a1d90 and its "
      "stable backports)"},
     &KernelProfile::pp_magic_has_dma_index},
    {{"release_data_clears_pp_recycle",
      "skb_release_data clears pp_recycle on every exit (2cc3aeb5eccc)"},
     &KernelProfile::release_data_clears_pp_recycle},
    {{"gro_refuses_pp_mix", "skb_gro_receive refuses pp/non-pp merges (7d2c89b32587)"},
     &KernelProfile::gro_refuses_pp_mix},
    {{"frag_ref_takes_pp_ref", "__skb_frag_ref takes pp refs on pp skbs (a580ea994fd3)"},
     &KernelProfile::frag_ref_takes_pp_ref},
    {{"esp_releases_with_put_page", "ESP releases frags with put_page (before c3198822c6cb)"},
     &KernelProfile::esp_releases_with_put_page},
    {{"release_syncs_producer_lock",
      "page_pool_release syncs with ring producers before freeing (271683bb2cf3)"},
     &KernelProfile::release_syncs_producer_lock},
    {{"pool_recycles_pfmemalloc", "a broken pool that recycles pfmemalloc pages (checker test)"},
     &KernelProfile::pool_recycles_pfmemalloc},
    {{"pp_ref_on_every_page",
      "every page handed out starts with pp_ref_count 1 (58d53d8f7da6); before, whole pages "
      "read 0 and their puts leave it alone"},
     &KernelProfile::pp_ref_on_every_page},
    {{"has_disable_direct_recycling",
      "destroy (and page_pool_disable_direct_recycling) WARNs on an enabled NAPI (dd64b232deb8)"},
     &KernelProfile::has_disable_direct_recycling},
    {{"napi_id_at_enable", "NAPI ids are assigned at napi_enable (86e25f40aa1e)"},
     &KernelProfile::napi_id_at_enable},
    {{"netlink_napi_id_live",
      "the page-pool dump reads the NAPI id live, gone after destroy (67e4bb2ced0f)"},
     &KernelProfile::netlink_napi_id_live},
    {{"destroy_unmap_clears_dma_addr",
      "DMA tracking's unmap at destroy zeroes the pages' stored address (until 24ef02f934ee)"},
     &KernelProfile::destroy_unmap_clears_dma_addr},
    {{"stalled_warn_all_pools",
      "\"stalled pool shutdown\" is printed for every pool, without an id (before 6.8)"},
     &KernelProfile::stalled_warn_all_pools},
    {{"free_checks_pages",
      "the page allocator checks freed pages: a pool page is a bad page, \"page_pool leak\" "
      "(700d2e9a36b9 with init_on_alloc); else it is freed silently"},
     &KernelProfile::free_checks_pages},
    {{"release_retry_stops_on_negative",
      "the release worker stops at a negative inflight (43130d02baa1); before, it retried and "
      "WARNed every second forever"},
     &KernelProfile::release_retry_stops_on_negative},
    {{"dma_skip_sync",
      "dev->dma_skip_sync (f406c8e4b770): syncs of a coherent dma-direct device do nothing "
      "until a swiotlb bounce, and dma_set_mask resets it even with bounced pages mapped"},
     &KernelProfile::dma_skip_sync},
}};
}  // namespace

std::span<const ProfileSwitchInfo> ProfileSwitches() {
  static const std::vector<ProfileSwitchInfo> kAll = [] {
    std::vector<ProfileSwitchInfo> v;
    for (const BoolSwitch& b : kBoolSwitches) v.push_back(b.info);
    v.push_back({"coalesce_rule",
                 "skb_try_coalesce rule: any-mix, cloned-from-non-pp-to, same-no-cloned-pp, "
                 "same-pp-frag-ref"});
    v.push_back({"direct_recycle_rule",
                 "when a put may use the alloc cache without allow_direct: caller-only, "
                 "skb-napi-safe, napi-local"});
    v.push_back({"iommu_release_rule",
                 "where a late dma_unmap goes after device removal: driver-ops (before "
                 "b5c58b2fdc42: Intel clears the device's DMA ops, AMD and arm-smmu keep "
                 "iommu-dma), dma-iommu-kept (until 280e5a301005: every vendor keeps it), "
                 "dma-iommu-cleared"});
    v.push_back({"skb_defer_rule",
                 "how skb_attempt_defer_free bounds a CPU's list: absent (before 68822bdf76f1), "
                 "check-then-count (39564c3fdc66: at most skb_defer_max queued), "
                 "count-then-check (2025 llist series: at most skb_defer_max - 1)"});
    v.push_back({"skb_defer_max",
                 "net.core.skb_defer_max: the per-CPU deferred-free bound (64); the owning CPU "
                 "is kicked when its list reaches half of it"});
    v.push_back({"default_strategy", "teardown strategy for pools that pick none"});
    return v;
  }();
  return kAll;
}

namespace {
// A many-valued switch: `value` must be one of the names of `all`; the error lists them.
template <class E>
absl::Status SetEnum(absl::string_view sw, absl::string_view value, std::initializer_list<E> all,
                     absl::string_view (*name)(E), E* field) {
  std::vector<absl::string_view> names;
  for (E e : all) {
    if (name(e) == value) {
      *field = e;
      return absl::OkStatus();
    }
    names.push_back(name(e));
  }
  return absl::InvalidArgumentError(absl::StrCat("profile_switches.", sw, ": \"", value,
                                                 "\"; expected one of ", absl::StrJoin(names, ", ")));
}
}  // namespace

absl::Status KernelProfile::ApplySwitch(absl::string_view sw, absl::string_view value) {
  for (const BoolSwitch& b : kBoolSwitches) {
    if (b.info.name != sw) continue;
    if (value == "true" || value == "1") {
      this->*b.field = true;
    } else if (value == "false" || value == "0") {
      this->*b.field = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("profile_switches.", sw, ": \"", value, "\" is not true or false"));
    }
    return absl::OkStatus();
  }
  if (sw == "coalesce_rule") {
    return SetEnum(sw, value, {CoalesceRule::kAnyMix, CoalesceRule::kClonedFromNonPpTo,
                               CoalesceRule::kSameNoClonedPp, CoalesceRule::kSamePpFragRef},
                   CoalesceRuleName, &coalesce_rule);
  }
  if (sw == "direct_recycle_rule") {
    return SetEnum(sw, value, {DirectRecycleRule::kCallerOnly, DirectRecycleRule::kSkbNapiSafe,
                               DirectRecycleRule::kNapiLocal},
                   DirectRecycleRuleName, &direct_recycle_rule);
  }
  if (sw == "iommu_release_rule") {
    return SetEnum(sw, value, {IommuReleaseRule::kDriverOps, IommuReleaseRule::kDmaIommuKept,
                               IommuReleaseRule::kDmaIommuCleared},
                   IommuReleaseRuleName, &iommu_release_rule);
  }
  if (sw == "skb_defer_rule") {
    return SetEnum(sw, value, {SkbDeferRule::kAbsent, SkbDeferRule::kCheckThenCount,
                               SkbDeferRule::kCountThenCheck},
                   SkbDeferRuleName, &skb_defer_rule);
  }
  if (sw == "skb_defer_max") {
    uint32_t v = 0;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "profile_switches.", sw, ": \"", value, "\" is not a non-negative integer"));
    }
    skb_defer_max = v;
    return absl::OkStatus();
  }
  if (sw == "default_strategy") {
    default_strategy = std::string(value);
    return absl::OkStatus();
  }
  std::string known;
  for (const ProfileSwitchInfo& i : ProfileSwitches()) {
    absl::StrAppend(&known, known.empty() ? "" : ", ", i.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("profile_switches: unknown switch \"", sw, "\"; known: ", known));
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
