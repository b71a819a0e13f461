// client/chaos/compare: the unbind-inflight story (client/scenarios/unbind-inflight.yaml: a
// page held by a socket across unbind and removal, then returned) under every teardown
// strategy of the model, embedded. What each row must say comes from docs/design.md §3.6 and
// docs/kernel/page-pool.md §5: legacy crashes (PP001), the fixes do not, scan pays with a
// BH-disabling lock hold, tce-wait with a blocked removal, the trackers with memory.
#include "client/chaos/compare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "client/chaos/scenario_loader.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

const RunResult& RunOf(const ScenarioResult& r, const std::string& strategy) {
  auto it = std::find_if(r.runs.begin(), r.runs.end(),
                         [&](const RunResult& run) { return run.strategy == strategy; });
  EXPECT_NE(it, r.runs.end()) << strategy;
  return *it;
}

bool Raised(const RunResult& run, const std::string& id) {
  return std::any_of(run.violations.begin(), run.violations.end(),
                     [&](const ViolationSummary& v) { return v.id == id; });
}

class CompareTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<Scenario> s =
        LoadScenarioFile(PPSIM_SOURCE_DIR "/client/scenarios/unbind-inflight.yaml");
    ASSERT_TRUE(s.ok()) << s.status();
    std::unique_ptr<LabTarget> target = EmbeddedTarget();
    absl::StatusOr<ScenarioResult> r =
        Compare(*s, *target, {.strategies = KnownStrategies(), .sample_inflight = true});
    ASSERT_TRUE(r.ok()) << r.status();
    result_ = new ScenarioResult(*std::move(r));
  }
  static void TearDownTestSuite() { delete result_; }
  static ScenarioResult* result_;
};
ScenarioResult* CompareTest::result_ = nullptr;

TEST_F(CompareTest, OneRunPerStrategyInTheOrderGiven) {
  ASSERT_EQ(result_->runs.size(), 6u);
  std::vector<std::string> order;
  for (const RunResult& run : result_->runs) order.push_back(run.strategy);
  EXPECT_EQ(order, KnownStrategies());
  for (const RunResult& run : result_->runs) {
    EXPECT_EQ(run.seed, 1u) << run.strategy << ": one seed for all (the scenario's)";
    EXPECT_GT(run.ops, 0u);
  }
}

// docs/design.md §3.6 legacy: "late unmap after unbind/removal" (the hns3 crash), which the
// scenario expects of it; dma-tracking, scan, items and release-on-destroy unmap at destroy.
TEST_F(CompareTest, LegacyCrashesAndTheDestroyTimeFixesDoNot) {
  EXPECT_TRUE(Raised(RunOf(*result_, "legacy"), "PP001"));
  EXPECT_EQ(RunOf(*result_, "legacy").verdict, Verdict::kPass) << "the scenario expects it";
  for (const char* safe : {"dma-tracking", "scan", "items", "release-on-destroy"}) {
    const RunResult& run = RunOf(*result_, safe);
    EXPECT_TRUE(run.violations.empty()) << safe << ": " << run.violations.front().id;
    EXPECT_EQ(run.verdict, Verdict::kPass) << safe;
  }
}

// tce-wait is not listed by the scenario: its late unmap is after the unbind (PP002, no crash:
// the removal waited for the TCE), which `run`'s rule (no expect entry: nothing may be raised)
// turns into a safety verdict.
TEST_F(CompareTest, TceWaitWaitsForTheTceAndStillUnmapsAfterUnbind) {
  const RunResult& run = RunOf(*result_, "tce-wait");
  EXPECT_FALSE(Raised(run, "PP001"));
  EXPECT_TRUE(Raised(run, "PP002"));
  EXPECT_EQ(run.verdict, Verdict::kSafety);
  EXPECT_EQ(ExitCodeFor(*result_), 1);
}

// The page returns right after the removal, but into the detached pool's ptr_ring: its TCE
// stays mapped until the pool's first retry tick releases it at 1 s (docs/kernel/page-pool.md
// §4.3), and tce-wait's removal, polling every 50 ms (§5e), finishes on the poll at that same
// instant (the retry timer was armed first and runs first). No other strategy makes removal
// wait.
TEST_F(CompareTest, OnlyTceWaitDelaysTheRemoval) {
  for (const RunResult& run : result_->runs) {
    if (run.strategy == "tce-wait") {
      EXPECT_EQ(run.costs.removal_latency_ns, 1'000'000'000);
    } else {
      EXPECT_EQ(run.costs.removal_latency_ns, 0) << run.strategy;
    }
  }
}

// scan's destroy walk holds a BH-disabling lock for O(RAM); nobody else holds one.
TEST_F(CompareTest, OnlyScanHoldsALock) {
  for (const RunResult& run : result_->runs) {
    if (run.strategy == "scan") {
      EXPECT_GT(run.costs.max_lock_hold_ns, 0);
    } else {
      EXPECT_EQ(run.costs.max_lock_hold_ns, 0) << run.strategy;
    }
  }
}

// Tracking costs memory: items' blocks, dma-tracking's xarray, release-on-destroy's lookup;
// legacy, scan and tce-wait track nothing.
TEST_F(CompareTest, TrackersPayInMemory) {
  for (const char* s : {"items", "dma-tracking", "release-on-destroy"}) {
    EXPECT_GT(RunOf(*result_, s).costs.memory_overhead_bytes, 0u) << s;
  }
  for (const char* s : {"legacy", "scan", "tce-wait"}) {
    EXPECT_EQ(RunOf(*result_, s).costs.memory_overhead_bytes, 0u) << s;
  }
}

// The held page returns at t=0, after the unbind detached the pool; the pool is freed by the
// first retry tick (1 s, docs/kernel/page-pool.md §4.3) unless the strategy frees it at destroy
// (release-on-destroy converts the page and frees the pool at once).
TEST_F(CompareTest, DrainTimes) {
  EXPECT_EQ(RunOf(*result_, "legacy").costs.drain_time_ns, 1'000'000'000);
  EXPECT_EQ(RunOf(*result_, "release-on-destroy").costs.drain_time_ns, 0);
}

TEST_F(CompareTest, TheRunsCarryPlotData) {
  for (const RunResult& run : result_->runs) {
    EXPECT_FALSE(run.inflight.empty()) << run.strategy;
  }
  EXPECT_FALSE(RunOf(*result_, "legacy").events.empty());
}

TEST_F(CompareTest, TableHasARowPerStrategyWithItsNumbers) {
  const std::string table = CompareTable(*result_);
  EXPECT_THAT(table, HasSubstr("strategy"));
  EXPECT_THAT(table, HasSubstr("removal"));
  for (const std::string& s : KnownStrategies()) EXPECT_THAT(table, HasSubstr(s));
  EXPECT_THAT(table, HasSubstr("44.0 KiB")) << "items: 11 item blocks of 4 KiB";
  EXPECT_THAT(table, HasSubstr("PP001x1"));
}

TEST(CompareStrategiesTest, UnknownStrategyNamesItAndTheValidOnes) {
  const absl::Status st = CheckStrategies({"legacy", "nope"});
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("\"nope\""));
  for (const std::string& s : KnownStrategies()) EXPECT_THAT(st.message(), HasSubstr(s));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckStrategies({})));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckStrategies({"scan", "scan"})));
  EXPECT_TRUE(CheckStrategies({"scan", "legacy"}).ok());
}

TEST(CompareStrategiesTest, TheModelsRegistry) {
  EXPECT_EQ(KnownStrategies(),
            (std::vector<std::string>{"legacy", "scan", "items", "dma-tracking", "tce-wait",
                                      "release-on-destroy"}));
}

// --seed overrides the scenario's for every run.
TEST(CompareSeedTest, SeedOverrideReachesEveryRun) {
  absl::StatusOr<Scenario> s =
      LoadScenarioFile(PPSIM_SOURCE_DIR "/client/scenarios/unbind-inflight.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r =
      Compare(*s, *target, {.strategies = {"legacy", "scan"}, .seed = 99});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->runs.size(), 2u);
  for (const RunResult& run : r->runs) EXPECT_EQ(run.seed, 99u) << run.strategy;
  EXPECT_EQ(r->seed, 99u);
}

}  // namespace
}  // namespace ppsim::chaos
