// Tests for server/sim/kernel_profile.h: pp_magic constants per architecture and the
// built-in profiles (docs/design.md §3.7; docs/kernel/page-pool.md §1.2, §1.3, §7).
#include "server/sim/kernel_profile.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sim/page_pool.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::testing::HasSubstr;

KernelProfile Profile(absl::string_view name) {
  absl::StatusOr<KernelProfile> p = FindProfile(name);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : KernelProfile{};
}

TEST(KernelProfileTest, BuiltinProfilesAreFoundByName) {
  for (const char* name : {"v5.14", "v6.1.0", "v6.1", "v6.8", "v6.12", "v6.15", "v7.3",
                           "v6.1-ppc64", "v6.12-ppc64", "v7.2-ppc64", "v6.15-ppc64",
                           "v6.15-32bit", "v6.15-riscv32-nommu"}) {
    absl::StatusOr<KernelProfile> p = FindProfile(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ(p->name, name);
  }
  EXPECT_EQ(BuiltinProfiles().size(), 13u);
}

// Debian's ppc64el kernels are the same trees as the x86 ones of their era: every switch but
// the architecture matches (the oracle's pseries rig booted 6.1.176, 6.12.95 and 7.2.11).
TEST(KernelProfileTest, PpcProfilesAreTheirErasOnPpc64) {
  for (auto [ppc, x86] : {std::pair{"v6.1-ppc64", "v6.1"}, std::pair{"v6.12-ppc64", "v6.12"},
                          std::pair{"v7.2-ppc64", "v7.3"}}) {
    const KernelProfile p = Profile(ppc), x = Profile(x86);
    EXPECT_EQ(p.arch, Arch::kPpc64) << ppc;
    EXPECT_EQ(p.default_strategy, x.default_strategy) << ppc;
    EXPECT_EQ(p.pp_ref_on_every_page, x.pp_ref_on_every_page) << ppc;
    EXPECT_EQ(p.free_checks_pages, x.free_checks_pages) << ppc;
    EXPECT_EQ(p.destroy_unmap_clears_dma_addr, x.destroy_unmap_clears_dma_addr) << ppc;
    EXPECT_EQ(p.PpSignature(), 0x5deadbeef0000040ULL) << ppc;
  }
  EXPECT_EQ(Profile("v6.1-ppc64").DmaIndexBits(), 0u) << "no DMA tracking on 6.1";
  EXPECT_EQ(Profile("v6.12-ppc64").DmaIndexBits(), 21u) << "Debian 6.12.95's backport";
}

// b5c58b2fdc42 (6.12) and 280e5a301005 (6.15-rc2, Debian 6.12.26): where a late unmap after
// device_del goes (docs/kernel/skb-and-iommu.md §4.5).
TEST(KernelProfileTest, IommuReleaseRulePerEra) {
  for (const char* old : {"v5.14", "v6.1.0", "v6.1", "v6.8", "v6.1-ppc64"}) {
    EXPECT_EQ(Profile(old).iommu_release_rule, IommuReleaseRule::kDriverOps) << old;
  }
  for (const char* fixed : {"v6.12", "v6.15", "v7.3", "v7.2-ppc64"}) {
    EXPECT_EQ(Profile(fixed).iommu_release_rule, IommuReleaseRule::kDmaIommuCleared) << fixed;
  }
  KernelProfile p = Profile("v6.12");
  ASSERT_TRUE(p.ApplySwitch("iommu_release_rule", "dma-iommu-kept").ok());
  EXPECT_EQ(p.iommu_release_rule, IommuReleaseRule::kDmaIommuKept);
  const absl::Status bad = p.ApplySwitch("iommu_release_rule", "cleared");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.message()).find("driver-ops, dma-iommu-kept, dma-iommu-cleared"),
            std::string::npos)
      << bad;
}

TEST(KernelProfileTest, PpSignaturePerArchitecture) {
  // §1.2: PP_SIGNATURE = 0x40 + POISON_POINTER_DELTA.
  EXPECT_EQ(Profile("v6.15").PpSignature(), 0xdead000000000040ULL);
  EXPECT_EQ(Profile("v6.1").PpSignature(), 0xdead000000000040ULL);
  EXPECT_EQ(Profile("v6.15-ppc64").PpSignature(), 0x5deadbeef0000040ULL);
  EXPECT_EQ(Profile("v6.15-32bit").PpSignature(), 0x40ULL);
  EXPECT_EQ(Profile("v6.15-riscv32-nommu").PpSignature(), 0x40ULL);
  EXPECT_EQ(Profile("v6.15-ppc64").arch, Arch::kPpc64);
  EXPECT_EQ(ArchName(Arch::kX86_64), "x86_64");
}

TEST(KernelProfileTest, DmaIndexBitsPerArchitectureAndEra) {
  // §1.3: 32 bits on x86-64, 21 on ppc64; §1.2: no index bits before the xarray fix (v6.15).
  // include/linux/mm.h after 95920c2ed02b: without a poison delta, __ffs(PAGE_OFFSET) - 7 when
  // PAGE_OFFSET is a constant >= 1 << 15 and aligned to it: i386's 0xC0000000 leaves 23 bits;
  // a run-time PAGE_OFFSET (riscv without an MMU: phys_ram_base) leaves 0, tracking off.
  EXPECT_EQ(Profile("v6.15").DmaIndexBits(), 32u);
  EXPECT_EQ(Profile("v6.15-ppc64").DmaIndexBits(), 21u);
  EXPECT_EQ(Profile("v6.15-32bit").DmaIndexBits(), 23u);
  EXPECT_EQ(Profile("v6.15-riscv32-nommu").DmaIndexBits(), 0u);
  for (const char* old : {"v5.14", "v6.1", "v6.8"}) {
    EXPECT_EQ(Profile(old).DmaIndexBits(), 0u) << old;
    EXPECT_EQ(Profile(old).DmaIndexMask(), 0u) << old;
  }
  EXPECT_EQ(KernelProfile::kDmaIndexShift, 7u);
}

TEST(KernelProfileTest, DmaIndexMaskCoversBits7Through38OnX86_64) {
  // §1.3: "32 bits on x86-64/arm64 (mask = bits 7..38)".
  const uint64_t mask = Profile("v6.15").DmaIndexMask();
  EXPECT_EQ(mask, 0x0000007fffffff80ULL);
  EXPECT_EQ(__builtin_ctzll(mask), 7);
  EXPECT_EQ(63 - __builtin_clzll(mask), 38);
  // ppc64: 21 bits from bit 7, below the delta's lowest set bit (28).
  EXPECT_EQ(Profile("v6.15-ppc64").DmaIndexMask(), ((uint64_t{1} << 21) - 1) << 7);
  EXPECT_EQ(Profile("v6.15-32bit").DmaIndexMask(), ((uint64_t{1} << 23) - 1) << 7)
      << "bits 7..29, below PAGE_OFFSET's bit 30";
  EXPECT_EQ(Profile("v6.15-riscv32-nommu").DmaIndexMask(), 0u);
}

TEST(KernelProfileTest, PpMagicMaskPerEra) {
  // §1.2 / §7: ~0x3UL up to v6.14; ~(PP_DMA_INDEX_MASK | 0x3) from v6.15.
  EXPECT_EQ(Profile("v6.8").PpMagicMask(), ~0x3ULL);
  EXPECT_EQ(Profile("v6.15").PpMagicMask(), ~(0x0000007fffffff80ULL | 0x3ULL));
  EXPECT_EQ(Profile("v6.15-riscv32-nommu").PpMagicMask(), ~0x3ULL);
}

TEST(KernelProfileTest, SignatureMatchesWithDmaIndexAndLowBitsSet) {
  // §1.2–§1.3: the "is pp page" test masks out bits 0–1 and the embedded DMA id, and the
  // signature itself does not overlap the mask.
  for (const char* name : {"v6.15", "v6.15-ppc64"}) {
    const KernelProfile p = Profile(name);
    const uint64_t sig = p.PpSignature();
    EXPECT_EQ(sig & p.PpMagicMask(), sig) << name;
    const uint64_t max_id = (uint64_t{1} << p.DmaIndexBits()) - 1;
    const uint64_t magic = sig | (max_id << KernelProfile::kDmaIndexShift) | 0x3;
    EXPECT_EQ(magic & p.PpMagicMask(), sig) << name;
  }
  // Before v6.15 an index in those bits would not match: the mask keeps them.
  const KernelProfile old = Profile("v6.8");
  const uint64_t magic = old.PpSignature() | (uint64_t{1} << KernelProfile::kDmaIndexShift);
  EXPECT_NE(magic & old.PpMagicMask(), old.PpSignature());
}

TEST(KernelProfileTest, DefaultStrategiesAndWarnings) {
  // §5a/§5d: legacy up to v6.14, dma-tracking (ee62ce7a1d90) from v6.15; before v6.8 the
  // stalled warning printed for every pool (§5a, §4.1).
  for (const char* name : {"v5.14", "v6.1", "v6.8"}) {
    EXPECT_EQ(Profile(name).default_strategy, "legacy") << name;
    EXPECT_FALSE(Profile(name).pp_magic_has_dma_index) << name;
  }
  for (const char* name : {"v6.15", "v6.15-ppc64", "v6.15-32bit", "v6.15-riscv32-nommu"}) {
    EXPECT_EQ(Profile(name).default_strategy, "dma-tracking") << name;
    EXPECT_TRUE(Profile(name).pp_magic_has_dma_index) << name;
  }
  EXPECT_TRUE(Profile("v5.14").stalled_warn_all_pools);
  EXPECT_TRUE(Profile("v6.1").stalled_warn_all_pools);
  EXPECT_FALSE(Profile("v6.8").stalled_warn_all_pools);
  EXPECT_FALSE(Profile("v6.15").stalled_warn_all_pools);
}

TEST(KernelProfileTest, UnknownProfileErrorNamesItAndTheKnownOnes) {
  absl::StatusOr<KernelProfile> p = FindProfile("v4.19");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(p.status().message());
  EXPECT_THAT(msg, HasSubstr("profile"));
  EXPECT_THAT(msg, HasSubstr("v4.19"));
  for (const KernelProfile& known : BuiltinProfiles()) EXPECT_THAT(msg, HasSubstr(known.name));
}

// net/core/page_pool.c BIAS_MAX follows the word size (pp_ref_count is an atomic_long_t):
// LONG_MAX from 53e0961da1c7 (5.15), halved by "page_pool: halve BIAS_MAX for multiple user
// references of a fragment" (msg 20231130115611.6632-3-liangchen.linux@gmail.com, 6.8, with
// f7dc3248dcfb).
TEST(KernelProfileTest, BiasMaxFollowsTheEraAndTheWordSize) {
  EXPECT_EQ(Profile("v6.1").BiasMax(), INT64_MAX);
  EXPECT_EQ(Profile("v6.8").BiasMax(), INT64_MAX >> 1);
  EXPECT_EQ(Profile("v6.15").BiasMax(), BIAS_MAX);
  EXPECT_EQ(Profile("v6.15-ppc64").BiasMax(), INT64_MAX >> 1);
  EXPECT_EQ(Profile("v6.15-32bit").BiasMax(), int64_t{INT32_MAX} >> 1);
  EXPECT_EQ(Profile("v6.15-riscv32-nommu").BiasMax(), (int64_t{1} << 30) - 1);
}

// One 2048-byte fragment from a bound NIC's pool (page_pool_alloc_frag ->
// page_pool_fragment_netmem): a fresh fragmented page.
std::vector<PageRef> AllocOneFrag(Lab& lab) {
  const testing::Nic nic = testing::BindNic(lab);
  return testing::MustApply(lab, op::PagePoolAllocFrag{.pool = nic.pool, .size = 2048},
                            testing::kNapiCpu0)
      .pages;
}

// A fragmented page starts at the profile's BIAS_MAX (page_pool_alloc_frag ->
// page_pool_fragment_netmem), here a 32-bit one.
TEST(KernelProfileTest, AFragPageOnA32BitProfileStartsAt32BitBiasMax) {
  auto lab = testing::MakeLab(LabConfig{.profile = "v6.15-32bit"});
  const std::vector<PageRef> got = AllocOneFrag(*lab);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(testing::Page(*lab, got[0]).pp_ref_count, (int64_t{1} << 30) - 1);
}

// pp_ref_count is an atomic_long_t and the kernel's atomics wrap in two's complement
// (Documentation/atomic_t.txt; the kernel builds with -fno-strict-overflow): on an era whose
// BIAS_MAX is LONG_MAX (v6.1), one more reference on a fresh fragment page reads LONG_MIN.
// lab_ops_fuzzer found the model's int64 overflowing here (corpus crash-bias-max-ref-wraps).
TEST(KernelProfileTest, AReferenceOnAFragPageAtLongMaxBiasWrapsAsTheAtomicDoes) {
  auto lab = testing::MakeLab(LabConfig{.profile = "v6.1"});
  const std::vector<PageRef> got = AllocOneFrag(*lab);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(testing::Page(*lab, got[0]).pp_ref_count, INT64_MAX);
  testing::MustApply(*lab, op::PagePoolRefPage{.page = got[0].page}, testing::kNapiCpu0);
  EXPECT_EQ(testing::Page(*lab, got[0]).pp_ref_count, INT64_MIN);
}

}  // namespace
}  // namespace ppsim::sim
