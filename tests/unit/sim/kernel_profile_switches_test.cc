// The profile switch table of server/sim/kernel_profile.h (design.md §3.7: single switches can
// be overridden in LabConfig) and the skb-era switches of each built-in profile, which follow
// the version table of kernel/skb-and-iommu.md §1.4 (2cc3aeb5eccc 5.14-rc, 1effe8ca4e34 5.18,
// 7d2c89b32587 6.2, 0646dc31ca88 6.3, f7dc3248dcfb 6.8, c3198822c6cb 6.9-rc, a580ea994fd3
// never released, ee62ce7a1d90 6.15, 271683bb2cf3 2025).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "server/sim/kernel_profile.h"
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
};

TEST(KernelProfileSwitchesTest, TheTableListsEveryBooleanSwitchPlusTheTwoValued) {
  std::set<std::string> listed;
  for (const ProfileSwitchInfo& s : ProfileSwitches()) {
    EXPECT_FALSE(s.what.empty()) << s.name;
    EXPECT_TRUE(listed.insert(std::string(s.name)).second) << "listed twice: " << s.name;
  }
  std::set<std::string> expected = {"coalesce_rule", "default_strategy"};
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
  const KernelProfile& p = lab->machine().profile;
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

TEST(KernelProfileSwitchesTest, V61HasTheFirstCoalesceFixOnly) {
  const KernelProfile p = Profile("v6.1");
  EXPECT_TRUE(p.release_data_clears_pp_recycle);
  EXPECT_EQ(p.coalesce_rule, CoalesceRule::kClonedFromNonPpTo) << "1effe8ca4e34, 5.18";
  EXPECT_FALSE(p.gro_refuses_pp_mix) << "7d2c89b32587 is 6.2";
  EXPECT_TRUE(p.esp_releases_with_put_page);
  EXPECT_FALSE(p.release_syncs_producer_lock);
  EXPECT_EQ(p.pp_ref_count_name, "pp_frag_count");
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
  for (const char* name : {"v6.15", "v6.15-ppc64", "v6.15-32bit"}) {
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
