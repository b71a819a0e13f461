// Tests for server/sim/kernel_profile.h: pp_magic constants per architecture and the
// built-in profiles (design.md §3.7; kernel/page-pool.md §1.2, §1.3, §7).
#include "server/sim/kernel_profile.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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
                           "v6.15-ppc64", "v6.15-32bit"}) {
    absl::StatusOr<KernelProfile> p = FindProfile(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ(p->name, name);
  }
  EXPECT_EQ(BuiltinProfiles().size(), 9u);
}

TEST(KernelProfileTest, PpSignaturePerArchitecture) {
  // §1.2: PP_SIGNATURE = 0x40 + POISON_POINTER_DELTA.
  EXPECT_EQ(Profile("v6.15").PpSignature(), 0xdead000000000040ULL);
  EXPECT_EQ(Profile("v6.1").PpSignature(), 0xdead000000000040ULL);
  EXPECT_EQ(Profile("v6.15-ppc64").PpSignature(), 0x5deadbeef0000040ULL);
  EXPECT_EQ(Profile("v6.15-32bit").PpSignature(), 0x40ULL);
  EXPECT_EQ(Profile("v6.15-ppc64").arch, Arch::kPpc64);
  EXPECT_EQ(ArchName(Arch::kX86_64), "x86_64");
}

TEST(KernelProfileTest, DmaIndexBitsPerArchitectureAndEra) {
  // §1.3: 32 bits on x86-64, 21 on ppc64, 0 on 32-bit after 95920c2ed02b; §1.2: no index
  // bits before the xarray fix (v6.15).
  EXPECT_EQ(Profile("v6.15").DmaIndexBits(), 32u);
  EXPECT_EQ(Profile("v6.15-ppc64").DmaIndexBits(), 21u);
  EXPECT_EQ(Profile("v6.15-32bit").DmaIndexBits(), 0u);
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
  EXPECT_EQ(Profile("v6.15-32bit").DmaIndexMask(), 0u);
}

TEST(KernelProfileTest, PpMagicMaskPerEra) {
  // §1.2 / §7: ~0x3UL up to v6.14; ~(PP_DMA_INDEX_MASK | 0x3) from v6.15.
  EXPECT_EQ(Profile("v6.8").PpMagicMask(), ~0x3ULL);
  EXPECT_EQ(Profile("v6.15").PpMagicMask(), ~(0x0000007fffffff80ULL | 0x3ULL));
  EXPECT_EQ(Profile("v6.15-32bit").PpMagicMask(), ~0x3ULL);
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
  for (const char* name : {"v6.15", "v6.15-ppc64", "v6.15-32bit"}) {
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

}  // namespace
}  // namespace ppsim::sim
