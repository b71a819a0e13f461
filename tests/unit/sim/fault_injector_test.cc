// Tests for server/sim/fault_injector.h: the knobs and decision order of the kernel's
// should_fail() (lib/fault-inject.c; docs/design.md §3.10).
#include "server/sim/fault_injector.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::HasSubstr;

constexpr FaultSite kSite = FaultSite::kFailPageAlloc;

// Runs n decisions against the same target and returns which fired.
std::vector<bool> Decisions(FaultInjector& fi, Prng& prng, int n, const FaultTarget& t = {},
                            uint64_t size = 1) {
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) out.push_back(fi.Decide(kSite, t, prng, size).fire);
  return out;
}

TEST(FaultInjectorTest, UnarmedSiteIsNotEvaluated) {
  FaultInjector fi;
  Prng prng(1);
  EXPECT_FALSE(fi.armed(kSite));
  const FaultDecision d = fi.Decide(kSite, {}, prng);
  EXPECT_FALSE(d.evaluated);
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(prng.draws(), 0u);
}

TEST(FaultInjectorTest, ProbabilityZeroNeverEvaluates) {
  // should_fail(): "No need to check any other properties if the probability is 0".
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.probability = 0.0, .interval = 1, .times = 5});
  for (int i = 0; i < 100; ++i) {
    const FaultDecision d = fi.Decide(kSite, {}, prng);
    ASSERT_FALSE(d.evaluated);
    ASSERT_FALSE(d.fire);
  }
  EXPECT_EQ(fi.evaluated(kSite), 0u);
  EXPECT_EQ(fi.injected(kSite), 0u);
  EXPECT_EQ(prng.draws(), 0u);
}

TEST(FaultInjectorTest, TimesLimitsTheFailures) {
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.probability = 1.0, .times = 2});
  EXPECT_EQ(Decisions(fi, prng, 5), (std::vector<bool>{true, true, false, false, false}));
  EXPECT_EQ(fi.injected(kSite), 2u);
  EXPECT_EQ(fi.evaluated(kSite), 5u);
  // Probability 1 is exact and draws nothing.
  EXPECT_EQ(prng.draws(), 0u);
  // Set re-arms: the times budget starts over.
  fi.Set(kSite, FaultSpec{.probability = 1.0, .times = 1});
  EXPECT_EQ(Decisions(fi, prng, 2), (std::vector<bool>{true, false}));
  EXPECT_EQ(fi.injected(kSite), 3u);
}

TEST(FaultInjectorTest, IntervalFailsEveryNthCallWithProbabilityOne) {
  // §4: "interval (only every Nth eligible call; pair with probability 100)".
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.probability = 1.0, .interval = 3});
  const std::vector<bool> got = Decisions(fi, prng, 9);
  EXPECT_EQ(got, (std::vector<bool>{false, false, true, false, false, true, false, false, true}));
}

TEST(FaultInjectorTest, SpaceBudgetIsConsumedBeforeAnyFailure) {
  // should_fail(): while space > size, subtract size and do not fail.
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.probability = 1.0, .space = 10});
  EXPECT_EQ(Decisions(fi, prng, 4, {}, /*size=*/4), (std::vector<bool>{false, false, true, true}));
}

TEST(FaultInjectorTest, SpaceIsCheckedBeforeTheIntervalCounts) {
  // Calls absorbed by the space budget do not advance the interval counter.
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.probability = 1.0, .interval = 2, .space = 8});
  EXPECT_EQ(Decisions(fi, prng, 5, {}, 4), (std::vector<bool>{false, false, true, false, true}));
}

TEST(FaultInjectorTest, FilterSelectsPoolDeviceAndContext) {
  FaultInjector fi;
  Prng prng(1);
  const FaultTarget match{.pool = 7, .device = 2, .ctx = {CtxKind::kSoftirq, 1}};
  fi.Set(kSite, FaultSpec{.filter = {.pool = 7}});
  EXPECT_FALSE(fi.Decide(kSite, {.pool = 8, .device = 2}, prng).evaluated);
  EXPECT_TRUE(fi.Decide(kSite, match, prng).fire);

  fi.Set(kSite, FaultSpec{.filter = {.device = 2}});
  EXPECT_FALSE(fi.Decide(kSite, {.pool = 7, .device = 3}, prng).evaluated);
  EXPECT_TRUE(fi.Decide(kSite, match, prng).fire);

  fi.Set(kSite, FaultSpec{.filter = {.ctx = CtxKind::kSoftirq}});
  EXPECT_FALSE(fi.Decide(kSite, {.ctx = {CtxKind::kProcess, 1}}, prng).evaluated);
  EXPECT_TRUE(fi.Decide(kSite, match, prng).fire);
}

TEST(FaultInjectorTest, FilteredOutCallsConsumeNoTimesAndNoInterval) {
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{.interval = 2, .times = 1, .filter = {.pool = 7}});
  const FaultTarget other{.pool = 8};
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(fi.Decide(kSite, other, prng).fire);
  EXPECT_EQ(fi.evaluated(kSite), 0u);
  EXPECT_EQ(Decisions(fi, prng, 3, {.pool = 7}), (std::vector<bool>{false, true, false}));
}

TEST(FaultInjectorTest, FractionalProbabilityDrawsOncePerDecisionAndIsSeeded) {
  auto run = [](uint64_t seed) {
    FaultInjector fi;
    Prng prng(seed);
    fi.Set(kSite, FaultSpec{.probability = 0.5});
    std::vector<bool> got = Decisions(fi, prng, 1000);
    EXPECT_EQ(prng.draws(), 1000u);
    EXPECT_EQ(fi.injected(kSite), static_cast<uint64_t>(std::count(got.begin(), got.end(), true)));
    return got;
  };
  const std::vector<bool> a = run(17);
  EXPECT_EQ(a, run(17));
  const auto fired = std::count(a.begin(), a.end(), true);
  EXPECT_GT(fired, 400);
  EXPECT_LT(fired, 600);
}

TEST(FaultInjectorTest, ClearDisarmsButKeepsLifetimeCounts) {
  FaultInjector fi;
  Prng prng(1);
  fi.Set(kSite, FaultSpec{});
  fi.Set(FaultSite::kFailDmaMap, FaultSpec{});
  ASSERT_TRUE(fi.Decide(kSite, {}, prng).fire);
  fi.Clear(kSite);
  EXPECT_FALSE(fi.armed(kSite));
  EXPECT_TRUE(fi.armed(FaultSite::kFailDmaMap));
  EXPECT_FALSE(fi.Decide(kSite, {}, prng).evaluated);
  EXPECT_EQ(fi.injected(kSite), 1u);
  fi.ClearAll();
  EXPECT_FALSE(fi.armed(FaultSite::kFailDmaMap));
}

TEST(FaultSpecTest, ValidateNamesTheFieldAndTheValue) {
  EXPECT_TRUE(FaultSpec{}.Validate(kSite).ok());
  EXPECT_TRUE(FaultSpec{.delay_ns = kMillisecond}.Validate(FaultSite::kIotlbFlushDelay).ok());

  struct Case {
    FaultSpec spec;
    FaultSite site;
    std::string field;
    std::string value;
  };
  const std::vector<Case> cases = {
      {{.probability = 1.5}, kSite, "probability", "1.5"},
      {{.probability = -0.1}, kSite, "probability", "-0.1"},
      {{.interval = 0}, kSite, "interval", "0"},
      {{.times = -2}, kSite, "times", "-2"},
      {{.delay_ns = 5000}, kSite, "delay_ns", "5000"},
      {{.delay_ns = -1}, FaultSite::kDelayHolderRelease, "delay_ns", "-1"},
  };
  for (const Case& c : cases) {
    const absl::Status s = c.spec.Validate(c.site);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.field)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.value)) << s;
  }
  // The delay on a non-delay site also names the site.
  EXPECT_THAT(std::string(FaultSpec{.delay_ns = 5000}.Validate(kSite).message()),
              HasSubstr("fail_page_alloc"));
}

TEST(FaultSiteTest, ParseKnowsEverySiteAndListsThemOnError) {
  ASSERT_EQ(FaultSites().size(), static_cast<size_t>(kFaultSiteCount));
  for (const FaultSiteInfo& info : FaultSites()) {
    absl::StatusOr<FaultSite> s = ParseFaultSite(info.name);
    ASSERT_TRUE(s.ok()) << info.name;
    EXPECT_EQ(*s, info.site);
    EXPECT_EQ(FaultSiteOf(info.site).name, info.name);
  }
  EXPECT_EQ(*ParseFaultSite("fail_dma_track"), FaultSite::kFailDmaTrack);

  absl::StatusOr<FaultSite> bad = ParseFaultSite("fail_slab");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(bad.status().message());
  EXPECT_THAT(msg, HasSubstr("fail_slab"));
  for (const FaultSiteInfo& info : FaultSites()) EXPECT_THAT(msg, HasSubstr(info.name));
}

}  // namespace
}  // namespace ppsim::sim
