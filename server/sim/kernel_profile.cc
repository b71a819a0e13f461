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

absl::string_view CoalesceRuleName(CoalesceRule r) {
  switch (r) {
    case CoalesceRule::kAnyMix: return "any-mix";
    case CoalesceRule::kClonedFromNonPpTo: return "cloned-from-non-pp-to";
    case CoalesceRule::kSameNoClonedPp: return "same-no-cloned-pp";
    case CoalesceRule::kSamePpFragRef: return "same-pp-frag-ref";
  }
  return "?";
}

std::span<const KernelProfile> BuiltinProfiles() {
  // Each era's switches follow the version table of kernel/skb-and-iommu.md §1.4.
  static const std::array<KernelProfile, 6> kProfiles = [] {
    KernelProfile v514{.name = "v5.14", .default_strategy = "legacy",
                       .stalled_warn_all_pools = true, .pp_ref_count_name = "(none)"};
    v514.coalesce_rule = CoalesceRule::kAnyMix;
    v514.gro_refuses_pp_mix = false;
    v514.esp_releases_with_put_page = true;
    v514.release_syncs_producer_lock = false;
    KernelProfile v61 = v514;
    v61.name = "v6.1";
    v61.pp_ref_count_name = "pp_frag_count";
    v61.coalesce_rule = CoalesceRule::kClonedFromNonPpTo;
    KernelProfile v68 = v61;
    v68.name = "v6.8";
    v68.stalled_warn_all_pools = false;
    v68.pp_ref_count_name = "pp_ref_count";
    v68.coalesce_rule = CoalesceRule::kSamePpFragRef;
    v68.gro_refuses_pp_mix = true;
    KernelProfile v615 = v68;
    v615.name = "v6.15";
    v615.default_strategy = "dma-tracking";
    v615.pp_magic_has_dma_index = true;
    v615.esp_releases_with_put_page = false;
    v615.release_syncs_producer_lock = true;
    KernelProfile ppc = v615;
    ppc.name = "v6.15-ppc64";
    ppc.arch = Arch::kPpc64;
    KernelProfile x32 = v615;
    x32.name = "v6.15-32bit";
    x32.arch = Arch::kX86_32;
    return std::array<KernelProfile, 6>{v514, v61, v68, v615, ppc, x32};
  }();
  return kProfiles;
}

namespace {
struct BoolSwitch {
  ProfileSwitchInfo info;
  bool KernelProfile::*field;
};
constexpr std::array<BoolSwitch, 7> kBoolSwitches = {{
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
}};
}  // namespace

std::span<const ProfileSwitchInfo> ProfileSwitches() {
  static const std::vector<ProfileSwitchInfo> kAll = [] {
    std::vector<ProfileSwitchInfo> v;
    for (const BoolSwitch& b : kBoolSwitches) v.push_back(b.info);
    v.push_back({"coalesce_rule",
                 "skb_try_coalesce rule: any-mix, cloned-from-non-pp-to, same-no-cloned-pp, "
                 "same-pp-frag-ref"});
    v.push_back({"default_strategy", "teardown strategy for pools that pick none"});
    return v;
  }();
  return kAll;
}

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
    for (CoalesceRule r : {CoalesceRule::kAnyMix, CoalesceRule::kClonedFromNonPpTo,
                           CoalesceRule::kSameNoClonedPp, CoalesceRule::kSamePpFragRef}) {
      if (CoalesceRuleName(r) == value) {
        coalesce_rule = r;
        return absl::OkStatus();
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "profile_switches.coalesce_rule: \"", value,
        "\"; expected any-mix, cloned-from-non-pp-to, same-no-cloned-pp or same-pp-frag-ref"));
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
