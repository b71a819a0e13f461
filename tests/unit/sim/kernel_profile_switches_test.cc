// The profile switch table of server/sim/kernel_profile.h (docs/design.md §3.7: single switches can
// be overridden in LabConfig) and the skb-era switches of each built-in profile, which follow
// the version table of docs/kernel/skb-and-iommu.md §1.4 (2cc3aeb5eccc 5.14-rc, 1effe8ca4e34 5.18,
// 7d2c89b32587 6.2, 0646dc31ca88 6.3, f7dc3248dcfb 6.8, c3198822c6cb 6.9-rc, a580ea994fd3
// never released, ee62ce7a1d90 6.15, 271683bb2cf3 2025).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

KernelProfile Profile(absl::string_view name) {
  absl::StatusOr<KernelProfile> p = FindProfile(name);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : KernelProfile{};
}

// The boolean switches and the field each one sets.
struct BoolField {
  const char* name;
  bool KernelProfile::*field;
};
constexpr BoolField kBools[] = {
    {"release_data_clears_pp_recycle", &KernelProfile::release_data_clears_pp_recycle},
    {"gro_refuses_pp_mix", &KernelProfile::gro_refuses_pp_mix},
    {"frag_ref_takes_pp_ref", &KernelProfile::frag_ref_takes_pp_ref},
    {"esp_releases_with_put_page", &KernelProfile::esp_releases_with_put_page},
    {"release_syncs_producer_lock", &KernelProfile::release_syncs_producer_lock},
    {"pool_recycles_pfmemalloc", &KernelProfile::pool_recycles_pfmemalloc},
    {"pp_magic_has_dma_index", &KernelProfile::pp_magic_has_dma_index},
    {"pp_ref_on_every_page", &KernelProfile::pp_ref_on_every_page},
    {"has_disable_direct_recycling", &KernelProfile::has_disable_direct_recycling},
    {"napi_id_at_enable", &KernelProfile::napi_id_at_enable},
    {"netlink_napi_id_live", &KernelProfile::netlink_napi_id_live},
    {"destroy_unmap_clears_dma_addr", &KernelProfile::destroy_unmap_clears_dma_addr},
    {"stalled_warn_all_pools", &KernelProfile::stalled_warn_all_pools},
    {"free_checks_pages", &KernelProfile::free_checks_pages},
    {"release_retry_stops_on_negative", &KernelProfile::release_retry_stops_on_negative},
    {"dma_skip_sync", &KernelProfile::dma_skip_sync},
};

TEST(KernelProfileSwitchesTest, TheTableListsEveryBooleanSwitchPlusTheTwoValued) {
  std::set<std::string> listed;
  for (const ProfileSwitchInfo& s : ProfileSwitches()) {
    EXPECT_FALSE(s.what.empty()) << s.name;
    EXPECT_TRUE(listed.insert(std::string(s.name)).second) << "listed twice: " << s.name;
  }
  std::set<std::string> expected = {"coalesce_rule",      "default_strategy",
                                    "direct_recycle_rule", "iommu_release_rule",
                                    "skb_defer_rule",     "skb_defer_max"};
  for (const BoolField& b : kBools) expected.insert(b.name);
  EXPECT_EQ(listed, expected);
}

TEST(KernelProfileSwitchesTest, EachBooleanSwitchTogglesItsFieldOnly) {
  for (const BoolField& b : kBools) {
    for (const char* on : {"true", "1"}) {
      KernelProfile p = Profile("v6.15");
      const KernelProfile base = p;
      ASSERT_TRUE(p.ApplySwitch(b.name, on).ok()) << b.name;
      EXPECT_TRUE(p.*b.field) << b.name;
      for (const BoolField& other : kBools) {
        if (other.field != b.field) {
          EXPECT_EQ(p.*other.field, base.*other.field) << b.name;
        }
      }
    }
    for (const char* off : {"false", "0"}) {
      KernelProfile p = Profile("v6.15");
      p.*b.field = true;
      ASSERT_TRUE(p.ApplySwitch(b.name, off).ok()) << b.name;
      EXPECT_FALSE(p.*b.field) << b.name;
    }
  }
}

TEST(KernelProfileSwitchesTest, ABadBooleanNamesTheSwitchAndTheValue) {
  KernelProfile p = Profile("v6.15");
  const absl::Status s = p.ApplySwitch("gro_refuses_pp_mix", "yes");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("profile_switches.gro_refuses_pp_mix"), absl::string_view::npos)
      << s.message();
  EXPECT_NE(s.message().find("\"yes\""), absl::string_view::npos) << s.message();
  EXPECT_TRUE(p.gro_refuses_pp_mix) << "unchanged";
}

TEST(KernelProfileSwitchesTest, AnUnknownSwitchNamesProfileSwitchesAndListsTheKnownOnes) {
  KernelProfile p = Profile("v6.15");
  const absl::Status s = p.ApplySwitch("pp_recycle_everything", "true");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(s.message());
  EXPECT_NE(msg.find("profile_switches"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pp_recycle_everything"), std::string::npos) << msg;
  for (const ProfileSwitchInfo& known : ProfileSwitches()) {
    EXPECT_TRUE(absl::StrContains(msg, known.name)) << known.name << " in " << msg;
  }
  // Through a lab config the same error refuses the lab.
  absl::StatusOr<std::unique_ptr<Lab>> lab =
      Lab::Create(LabConfig{.profile_switches = {{"pp_recycle_everything", "true"}}});
  ASSERT_FALSE(lab.ok());
  EXPECT_NE(lab.status().message().find("profile_switches"), absl::string_view::npos);
}

TEST(KernelProfileSwitchesTest, CoalesceRuleTakesEachRuleByName) {
  for (CoalesceRule r : {CoalesceRule::kAnyMix, CoalesceRule::kClonedFromNonPpTo,
                         CoalesceRule::kSameNoClonedPp, CoalesceRule::kSamePpFragRef}) {
    KernelProfile p = Profile(r == CoalesceRule::kAnyMix ? "v6.15" : "v5.14");
    ASSERT_TRUE(p.ApplySwitch("coalesce_rule", CoalesceRuleName(r)).ok()) << CoalesceRuleName(r);
    EXPECT_EQ(p.coalesce_rule, r);
  }
  EXPECT_EQ(CoalesceRuleName(CoalesceRule::kAnyMix), "any-mix");
  EXPECT_EQ(CoalesceRuleName(CoalesceRule::kClonedFromNonPpTo), "cloned-from-non-pp-to");
  EXPECT_EQ(CoalesceRuleName(CoalesceRule::kSameNoClonedPp), "same-no-cloned-pp");
  EXPECT_EQ(CoalesceRuleName(CoalesceRule::kSamePpFragRef), "same-pp-frag-ref");
  KernelProfile p = Profile("v6.15");
  const absl::Status s = p.ApplySwitch("coalesce_rule", "mixed");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"mixed\""), absl::string_view::npos) << s.message();
  EXPECT_NE(s.message().find("same-pp-frag-ref"), absl::string_view::npos) << s.message();
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kSamePpFragRef) << "unchanged";
}

// net.core.skb_defer_max is a sysctl; the rule names the era of skb_attempt_defer_free
// (net/core/skbuff.c: 68822bdf76f1 and 39564c3fdc66, v5.19; the 2025 llist series).
TEST(KernelProfileSwitchesTest, SkbDeferSwitchesTakeARuleAndACount) {
  KernelProfile p = *FindProfile("v6.12");
  EXPECT_EQ(p.skb_defer_rule, SkbDeferRule::kCheckThenCount);
  EXPECT_EQ(FindProfile("v7.3")->skb_defer_rule, SkbDeferRule::kCountThenCheck);
  EXPECT_EQ(FindProfile("v5.14")->skb_defer_rule, SkbDeferRule::kAbsent);
  ASSERT_TRUE(p.ApplySwitch("skb_defer_rule", "count-then-check").ok());
  EXPECT_EQ(p.skb_defer_rule, SkbDeferRule::kCountThenCheck);
  ASSERT_TRUE(p.ApplySwitch("skb_defer_max", "128").ok());
  EXPECT_EQ(p.skb_defer_max, 128u);
  const absl::Status bad = p.ApplySwitch("skb_defer_max", "-1");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("profile_switches.skb_defer_max"), absl::string_view::npos);
}

TEST(KernelProfileSwitchesTest, DefaultStrategySwitchIsValidatedByTheLab) {
  KernelProfile p = Profile("v6.8");
  ASSERT_TRUE(p.ApplySwitch("default_strategy", "scan").ok());
  EXPECT_EQ(p.default_strategy, "scan");
  EXPECT_FALSE(Lab::Create(LabConfig{.profile_switches = {{"default_strategy", "nope"}}}).ok());
}

// A lab applies its switches in order over the profile.
TEST(KernelProfileSwitchesTest, LabConfigSwitchesReachTheMachinesProfile) {
  std::unique_ptr<Lab> lab = testing::MakeLab(
      LabConfig{.profile = "v6.8",
                .profile_switches = {{"release_syncs_producer_lock", "true"},
                                     {"coalesce_rule", "any-mix"},
                                     {"release_syncs_producer_lock", "false"},
                                     {"frag_ref_takes_pp_ref", "1"}}});
  ASSERT_NE(lab, nullptr);
  const KernelProfile& p = LabTestPeer::machine(*lab).profile;
  EXPECT_FALSE(p.release_syncs_producer_lock) << "the last one wins";
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kAnyMix);
  EXPECT_TRUE(p.frag_ref_takes_pp_ref);
  EXPECT_TRUE(p.gro_refuses_pp_mix) << "untouched switches keep v6.8's value";
}

// §1.4, era by era.
TEST(KernelProfileSwitchesTest, V514HasTheCloneFixAndNothingLater) {
  const KernelProfile p = Profile("v5.14");
  EXPECT_TRUE(p.release_data_clears_pp_recycle) << "2cc3aeb5eccc, 5.14-rc";
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kAnyMix) << "before 1effe8ca4e34";
  EXPECT_FALSE(p.gro_refuses_pp_mix) << "before 7d2c89b32587";
  EXPECT_TRUE(p.esp_releases_with_put_page) << "before c3198822c6cb";
  EXPECT_FALSE(p.release_syncs_producer_lock) << "before 271683bb2cf3";
  EXPECT_EQ(p.pp_ref_count_name, "(none)") << "pp_frag_count came in 5.15";
}

TEST(KernelProfileSwitchesTest, V610HasTheFirstCoalesceFixOnly) {
  const KernelProfile p = Profile("v6.1.0");
  EXPECT_TRUE(p.release_data_clears_pp_recycle);
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kClonedFromNonPpTo) << "1effe8ca4e34, 5.18";
  EXPECT_FALSE(p.gro_refuses_pp_mix) << "7d2c89b32587 is 6.2";
  EXPECT_TRUE(p.esp_releases_with_put_page);
  EXPECT_FALSE(p.release_syncs_producer_lock);
  EXPECT_EQ(p.pp_ref_count_name, "pp_frag_count");
}

// Debian's 6.1.176 as the oracle saw it (tests/oracle/README.md): the 6.2 GRO and 6.3 coalesce
// fixes came in as stable backports (its skb probe refused both mixes); whole pages carry
// pp_frag_count 0; no direct recycling but the caller's; no NAPI unlink WARN.
TEST(KernelProfileSwitchesTest, V61IsDebians6_1WithTheSkbBackports) {
  const KernelProfile p = Profile("v6.1");
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kSameNoClonedPp) << "0646dc31ca88 backported";
  EXPECT_TRUE(p.gro_refuses_pp_mix) << "7d2c89b32587 backported";
  EXPECT_FALSE(p.pp_ref_on_every_page) << "58d53d8f7da6 is 6.7";
  EXPECT_EQ(p.direct_recycle_rule, DirectRecycleRule::kCallerOnly) << "8c48eea3adf3 is 6.4";
  EXPECT_FALSE(p.has_disable_direct_recycling) << "dd64b232deb8 is 6.4";
  EXPECT_TRUE(p.stalled_warn_all_pools) << "be0096676e23 is 6.8";
  EXPECT_EQ(p.default_strategy, "legacy");
  EXPECT_FALSE(p.free_checks_pages) << "700d2e9a36b9 is 6.3";
}

// Debian's 6.12.95: the DMA-tracking backport (destroy unmaps and zeroes), napi-local
// recycling everywhere, the stashed netlink napi-id, NAPI ids from netif_napi_add.
TEST(KernelProfileSwitchesTest, V612IsDebians6_12WithTheDmaTrackingBackport) {
  const KernelProfile p = Profile("v6.12");
  EXPECT_EQ(p.default_strategy, "dma-tracking") << "ee62ce7a1d90 in 6.12.34";
  EXPECT_TRUE(p.pp_magic_has_dma_index);
  EXPECT_TRUE(p.destroy_unmap_clears_dma_addr);
  EXPECT_EQ(p.direct_recycle_rule, DirectRecycleRule::kNapiLocal) << "4a96a4e807c3, 6.10";
  EXPECT_TRUE(p.has_disable_direct_recycling);
  EXPECT_FALSE(p.napi_id_at_enable) << "86e25f40aa1e is 6.13";
  EXPECT_FALSE(p.netlink_napi_id_live) << "67e4bb2ced0f is 6.14";
  EXPECT_FALSE(p.stalled_warn_all_pools);
  EXPECT_FALSE(p.esp_releases_with_put_page);
}

// 7.3.4: NAPI ids at napi_enable, the napi-id read live, and since 24ef02f934ee the scrub
// leaves the held pages' stale DMA address.
TEST(KernelProfileSwitchesTest, V73ReadsTheNapiIdLiveAndLeavesTheStaleAddress) {
  const KernelProfile p = Profile("v7.3");
  EXPECT_TRUE(p.napi_id_at_enable);
  EXPECT_TRUE(p.netlink_napi_id_live);
  EXPECT_FALSE(p.destroy_unmap_clears_dma_addr);
  EXPECT_EQ(p.default_strategy, "dma-tracking");
  EXPECT_TRUE(Profile("v6.15").destroy_unmap_clears_dma_addr) << "ee62ce7a1d90 zeroed it";
}

TEST(KernelProfileSwitchesTest, TheDirectRecycleRuleIsASwitch) {
  KernelProfile p = Profile("v6.12");
  ASSERT_TRUE(p.ApplySwitch("direct_recycle_rule", "caller-only").ok());
  EXPECT_EQ(p.direct_recycle_rule, DirectRecycleRule::kCallerOnly);
  const absl::Status bad = p.ApplySwitch("direct_recycle_rule", "sometimes");
  EXPECT_NE(bad.message().find("direct_recycle_rule: \"sometimes\""), std::string::npos) << bad;
  EXPECT_EQ(p.direct_recycle_rule, DirectRecycleRule::kCallerOnly) << "a refused value changes nothing";
}

TEST(KernelProfileSwitchesTest, V68HasGroAndFragRefCoalesceButNotTheEspFix) {
  const KernelProfile p = Profile("v6.8");
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kSamePpFragRef) << "f7dc3248dcfb, 6.8";
  EXPECT_TRUE(p.gro_refuses_pp_mix);
  EXPECT_TRUE(p.esp_releases_with_put_page) << "c3198822c6cb is 6.9-rc";
  EXPECT_FALSE(p.release_syncs_producer_lock);
  EXPECT_EQ(p.pp_ref_count_name, "pp_ref_count") << "0a149ab78ee2";
}

TEST(KernelProfileSwitchesTest, V615EraHasEveryFix) {
  for (const char* name : {"v6.15", "v6.15-ppc64", "v6.15-32bit", "v6.15-riscv32-nommu"}) {
    const KernelProfile p = Profile(name);
    EXPECT_TRUE(p.release_data_clears_pp_recycle) << name;
    EXPECT_EQ(p.coalesce_rule, CoalesceRule::kSamePpFragRef) << name;
    EXPECT_TRUE(p.gro_refuses_pp_mix) << name;
    EXPECT_FALSE(p.esp_releases_with_put_page) << name;
    EXPECT_TRUE(p.release_syncs_producer_lock) << name;
  }
}

// a580ea994fd3 was reverted before any release; the broken-pool switch is no kernel's.
TEST(KernelProfileSwitchesTest, NoProfileTurnsOnTheRevertedOrTheCheckerOnlySwitches) {
  for (const KernelProfile& p : BuiltinProfiles()) {
    EXPECT_FALSE(p.frag_ref_takes_pp_ref) << p.name;
    EXPECT_FALSE(p.pool_recycles_pfmemalloc) << p.name;
  }
}

}  // namespace
}  // namespace ppsim::sim
