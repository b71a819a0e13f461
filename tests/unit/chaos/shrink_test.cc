// client/chaos/shrink: a planted bug among noise shrinks to exactly the ops it needs, the
// outcomes (not raised, budget out) are reported as such, advance_time is halved to what the
// bug needs, and issue 5's acceptance test: a 10,000-op chaos run with one bad op planted in it
// shrinks to at most 20 ops whose scenario still raises the same id.
#include "client/chaos/shrink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"
#include "client/chaos/scenario_writer.h"
#include "client/lib/op_line.h"

namespace ppsim::chaos {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::LabConfig Config(const std::string& strategy = "dma-tracking") {
  v1::LabConfig c;
  c.set_profile("v6.8");
  c.set_seed(5);
  c.set_default_strategy(strategy);
  return c;
}

Trace TraceOfSteps(const std::vector<ShrinkStep>& steps, const v1::LabConfig& config) {
  Trace t;
  t.scenario = "handmade";
  t.strategy = config.default_strategy();
  t.seed = config.seed();
  t.config = config;
  for (const ShrinkStep& s : steps) {
    absl::StatusOr<v1::Op> op = client::ParseOpLine(s.line);  // concrete ops are not needed
    t.ops.push_back({.op = op.ok() ? *op : v1::Op(), .line = s.line, .as = s.as});
  }
  return t;
}

// A double recycle (PP008) of $p hidden among `noise` alloc/put pairs, time steps and a second
// device that has nothing to do with it.
std::vector<ShrinkStep> PlantedDoublePut(int noise) {
  std::vector<ShrinkStep> s = {{"add_device", "dev"},
                               {"bind_driver device=$dev flags=1", "nic"},
                               {"add_device", "other"},
                               {"bind_driver device=$other flags=1", "other_nic"}};
  auto pair = [&](int i, const std::string& nic) {
    const std::string q = absl::StrCat("q", i);
    s.push_back({absl::StrCat("page_pool_alloc_pages pool=$", nic, ".pools[0] count=2 @softirq:0"),
                 q});
    s.push_back({absl::StrCat("page_pool_put_page pool=$", nic, ".pools[0] page=$", q,
                              ".pages[1] @softirq:0"), ""});
    s.push_back({"advance_time ns=1000", ""});
  };
  for (int i = 0; i < noise; ++i) pair(i, i % 3 == 0 ? "other_nic" : "nic");
  s.push_back({"page_pool_alloc_pages pool=$nic.pools[0] @softirq:0", "p"});
  for (int i = noise; i < 2 * noise; ++i) pair(i, i % 3 == 0 ? "other_nic" : "nic");
  s.push_back({"page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0", ""});
  // Only the other device between the two puts: an alloc from $nic's pool would hand $p out
  // again and make the second put a use-after-recycle (PP007) instead.
  for (int i = 2 * noise; i < 3 * noise; ++i) pair(i, "other_nic");
  s.push_back({"page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0", ""});
  for (int i = 3 * noise; i < 4 * noise; ++i) pair(i, "nic");
  return s;
}

std::vector<std::string> Lines(const std::vector<ShrinkStep>& steps) {
  std::vector<std::string> out;
  for (const ShrinkStep& s : steps) out.push_back(s.line);
  return out;
}

TEST(RunStepsTest, ReportsTheStepThatRaisedAndStopsThere) {
  const std::vector<ShrinkStep> steps = PlantedDoublePut(10);
  absl::StatusOr<StepRun> all = RunSteps(Config(), steps, "PP008", /*stop_when_raised=*/false);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->valid) << all->why;
  EXPECT_TRUE(all->raised);
  EXPECT_EQ(all->raised_at, 4 + 3 * 10 * 3 + 2u) << "the second put of $p";
  EXPECT_EQ(all->applied, steps.size());
  absl::StatusOr<StepRun> stopped = RunSteps(Config(), steps, "PP008", true);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->applied, all->raised_at + 1);
  absl::StatusOr<StepRun> again = RunSteps(Config(), steps, "", false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->digest, all->digest) << "same config and ops, same digest";
}

TEST(RunStepsTest, AnUnresolvedReferenceOrRejectedOpIsInvalid) {
  absl::StatusOr<StepRun> r =
      RunSteps(Config(), {{"add_device", "dev"}, {"bind_driver device=$nope", ""}}, "PP008", true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->bad_step, 1u);
  EXPECT_THAT(r->why, HasSubstr("nope"));
  r = RunSteps(Config(), {{"page_pool_alloc_pages pool=7", ""}}, "PP008", true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->bad_step, 0u);
  EXPECT_EQ(RunSteps(Config(), {}, "PP999", true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ShrinkTest, APlantedDoublePutShrinksToTheFiveOpsItNeeds) {
  const std::vector<ShrinkStep> steps = PlantedDoublePut(50);
  std::vector<ShrinkProgress> progress;
  absl::StatusOr<ShrinkResult> r =
      Shrink(TraceOfSteps(steps, Config()),
             {.violation = "PP008", .progress = [&](const ShrinkProgress& p) { progress.push_back(p); }});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kShrunk);
  EXPECT_EQ(r->original, steps.size());
  EXPECT_EQ(r->cut, 4 + 3 * 50 * 3 + 3u);
  EXPECT_THAT(Lines(r->steps),
              ElementsAre("add_device", "bind_driver device=$dev flags=1",
                          "page_pool_alloc_pages pool=$nic.pools[0] @softirq:0",
                          "page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0",
                          "page_pool_put_page pool=$nic.pools[0] page=$p @softirq:0"));
  ASSERT_EQ(r->kept.size(), 5u);
  EXPECT_EQ(r->steps[2].as, "p");
  EXPECT_LT(r->runs, 200u) << "the closure phase finds it";
  absl::StatusOr<StepRun> check = RunSteps(Config(), r->steps, "PP008", true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->valid && check->raised);
  ASSERT_FALSE(progress.empty());
  EXPECT_STREQ(progress.front().phase, "cut");
  EXPECT_EQ(progress.back().steps, 5u);
}

TEST(ShrinkTest, DdminFindsWhatNoReferenceLinksAndHalvesTime) {
  // PP012 (a destroyed pool still holds pages 60 s later) needs time, and advance_time steps
  // reference nothing: no reference closure finds them, deleting and merging does.
  std::vector<ShrinkStep> steps = {{"add_device", "dev"},
                                   {"bind_driver device=$dev flags=1", "nic"},
                                   {"page_pool_alloc_pages pool=$nic.pools[0] count=3 @softirq:0",
                                    "held"},
                                   {"netdev_down device=$dev", ""}};
  for (int i = 0; i < 40; ++i) steps.push_back({"advance_time ns=200ms", ""});
  steps.push_back({"advance_time ns=200s", ""});
  for (int i = 0; i < 40; ++i) steps.push_back({"advance_time ns=300ms", ""});
  absl::StatusOr<StepRun> full = RunSteps(Config("legacy"), steps, "PP012", true);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(full->raised) << "precondition: the trace raises PP012";
  ASSERT_EQ(full->raised_at, 44u);
  absl::StatusOr<ShrinkResult> r =
      Shrink(TraceOfSteps(steps, Config("legacy")), {.violation = "PP012"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kShrunk);
  EXPECT_EQ(r->cut, 45u);
  ASSERT_EQ(r->steps.size(), 5u) << ::testing::PrintToString(Lines(r->steps));
  EXPECT_THAT(Lines(r->steps),
              ElementsAre("add_device", "bind_driver device=$dev flags=1",
                          "page_pool_alloc_pages pool=$nic.pools[0] count=3 @softirq:0",
                          "netdev_down device=$dev", ::testing::StartsWith("advance_time ns=")));
  // The 40 x 200 ms before the 200 s step merge into it (208 s), halved once to 104 s: 52 s
  // would be under PP012's 60 s.
  absl::StatusOr<v1::Op> last = client::ParseOpLine(r->steps[4].line);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->advance_time().ns(), 104'000'000'000);
  absl::StatusOr<StepRun> check = RunSteps(Config("legacy"), r->steps, "PP012", true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->valid && check->raised);
}

TEST(ShrinkTest, TimeSpreadOverManyStepsIsMergedIntoOne) {
  // 70 one-second advances with an unrelated device added after each: PP012 needs 60 of them.
  // Deleting alone stops at 60 advances; merging the adjacent ones leaves a single step.
  std::vector<ShrinkStep> steps = {{"add_device", "dev"},
                                   {"bind_driver device=$dev flags=1", "nic"},
                                   {"page_pool_alloc_pages pool=$nic.pools[0] @softirq:0", "held"},
                                   {"netdev_down device=$dev", ""}};
  for (int i = 0; i < 70; ++i) {
    steps.push_back({"advance_time ns=1s", ""});
    steps.push_back({"add_device", absl::StrCat("d", i)});
  }
  absl::StatusOr<ShrinkResult> r =
      Shrink(TraceOfSteps(steps, Config("legacy")), {.violation = "PP012"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kShrunk);
  ASSERT_EQ(r->steps.size(), 5u) << ::testing::PrintToString(Lines(r->steps));
  absl::StatusOr<v1::Op> last = client::ParseOpLine(r->steps[4].line);
  ASSERT_TRUE(last.ok() && last->has_advance_time()) << r->steps[4].line;
  EXPECT_GE(last->advance_time().ns(), 60'000'000'000) << "PP012 needs 60 s";
  absl::StatusOr<StepRun> check = RunSteps(Config("legacy"), r->steps, "PP012", true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->valid && check->raised);
  // Without merging, deletion alone keeps every one of the 60 advances.
  absl::StatusOr<ShrinkResult> plain = Shrink(TraceOfSteps(steps, Config("legacy")),
                                              {.violation = "PP012", .simplify_time = false});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->steps.size(), 4 + 60u);
}

TEST(ShrinkTest, ATraceThatNeverRaisesTheIdSaysSo) {
  absl::StatusOr<ShrinkResult> r =
      Shrink(TraceOfSteps(PlantedDoublePut(5), Config()), {.violation = "PP001"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kNotRaised);
  EXPECT_TRUE(r->steps.empty());
  EXPECT_EQ(r->runs, 1u);
}

TEST(ShrinkTest, AnExhaustedBudgetKeepsTheBestSoFar) {
  const std::vector<ShrinkStep> steps = PlantedDoublePut(50);
  absl::StatusOr<ShrinkResult> r =
      Shrink(TraceOfSteps(steps, Config()), {.violation = "PP008", .max_runs = 1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kBudget);
  EXPECT_EQ(r->runs, 1u);
  EXPECT_EQ(r->steps.size(), r->cut) << "only the cut after the raising op";
  absl::StatusOr<StepRun> check = RunSteps(Config(), r->steps, "PP008", true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->raised);
}

TEST(ShrinkTest, BadInputIsAnError) {
  const Trace t = TraceOfSteps(PlantedDoublePut(2), Config());
  EXPECT_EQ(Shrink(t, {.violation = "PP18"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Shrink(t, {}).status().code(), absl::StatusCode::kInvalidArgument);
  Trace broken = t;
  broken.ops.insert(broken.ops.begin() + 2, TracedOp{.line = "page_pool_destroy pool=99"});
  absl::StatusOr<ShrinkResult> r = Shrink(broken, {.violation = "PP008"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("step 2"));
}

// A double recycle from a pool the driver created by hand while bound. Nothing references the
// bind's result, so deleting `bind_driver` keeps every reference resolving and PP008 still
// fires, but the pool's DMA map then runs for a device with no driver: PP002, which the trace
// never raised. The fidelity rule (shrink.h) must keep the bind. The puts are not direct: the
// pool has no NAPI, so a direct put would itself be a foreign direct recycle (PP008).
std::vector<ShrinkStep> DoublePutFromHandmadePool(int noise) {
  std::vector<ShrinkStep> s = {{"add_device", "dev"},
                               {"bind_driver device=$dev flags=1", "nic"},
                               {"page_pool_create device=$dev flags=1", "pp"}};
  for (int i = 0; i < noise; ++i) {
    s.push_back({absl::StrCat("page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0"),
                 absl::StrCat("q", i)});
    s.push_back({"advance_time ns=1000", ""});
  }
  s.push_back({"page_pool_alloc_pages pool=$pp.pool @softirq:0", "p"});
  s.push_back({"page_pool_put_page pool=$pp.pool page=$p allow_direct=false @softirq:0", ""});
  s.push_back({"page_pool_put_page pool=$pp.pool page=$p allow_direct=false @softirq:0", ""});
  return s;
}

TEST(ShrinkFidelityTest, DeletingTheBindWouldAddPP002SoTheBindIsKept) {
  const std::vector<ShrinkStep> steps = DoublePutFromHandmadePool(20);
  absl::StatusOr<StepRun> full = RunSteps(Config(), steps, "PP008", true);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(full->valid && full->raised) << full->why;
  ASSERT_EQ(full->raised_at, steps.size() - 1);
  ASSERT_THAT(ViolationIdsOf(full->ids), ElementsAre("PP008")) << "precondition: no PP002";
  // Precondition: the bind-less sequence is what an unchecked shrinker could reach; it still
  // raises PP008, and PP002 before it.
  const std::vector<ShrinkStep> unbound = {steps[0], steps[2], steps[steps.size() - 3],
                                           steps[steps.size() - 2], steps.back()};
  absl::StatusOr<StepRun> drift = RunSteps(Config(), unbound, "PP008", true);
  ASSERT_TRUE(drift.ok()) << drift.status();
  ASSERT_TRUE(drift->valid && drift->raised) << drift->why;
  ASSERT_THAT(ViolationIdsOf(drift->ids), ElementsAre("PP002", "PP008"));

  absl::StatusOr<ShrinkResult> r = Shrink(TraceOfSteps(steps, Config()), {.violation = "PP008"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, ShrinkResult::Outcome::kShrunk);
  EXPECT_THAT(r->original_ids, ElementsAre("PP008"));
  EXPECT_GT(r->rejected_new, 0u) << "the bind-less candidates were tried and refused";
  EXPECT_THAT(Lines(r->steps),
              ElementsAre("add_device", "bind_driver device=$dev flags=1",
                          "page_pool_create device=$dev flags=1",
                          "page_pool_alloc_pages pool=$pp.pool @softirq:0",
                          "page_pool_put_page pool=$pp.pool page=$p allow_direct=false @softirq:0",
                          "page_pool_put_page pool=$pp.pool page=$p allow_direct=false @softirq:0"));
  absl::StatusOr<StepRun> check = RunSteps(Config(), r->steps, "PP008", true);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->valid && check->raised);
  EXPECT_THAT(ViolationIdsOf(check->ids), ElementsAre("PP008")) << "no PP002 in the result";

  // --allow-new-violations: the old behaviour, one step shorter and raising PP002.
  absl::StatusOr<ShrinkResult> loose = Shrink(
      TraceOfSteps(steps, Config()), {.violation = "PP008", .allow_new_violations = true});
  ASSERT_TRUE(loose.ok()) << loose.status();
  EXPECT_EQ(loose->rejected_new, 0u);
  EXPECT_EQ(loose->steps.size(), 5u) << ::testing::PrintToString(Lines(loose->steps));
  absl::StatusOr<StepRun> lcheck = RunSteps(Config(), loose->steps, "PP008", true);
  ASSERT_TRUE(lcheck.ok());
  EXPECT_THAT(ViolationIdsOf(lcheck->ids), ElementsAre("PP002", "PP008"));
}

// Issue 5's acceptance test.
constexpr char kChaos[] = R"(
name: chaos-10k
profile: v6.15
lab: {iommu: intel, seed: 42}
strategies: [dma-tracking]
chaos:
  ops: 10000
)";

TEST(ShrinkAcceptanceTest, TenThousandOpChaosRunWithAPlantedBugShrinksToAtMost20Ops) {
  absl::StatusOr<Scenario> s = LoadScenarioText(kChaos, "chaos-10k.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *target, {.record_trace = true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->runs.size(), 1u);
  const RunResult& run = r->runs[0];
  ASSERT_GE(run.trace.size(), 10000u);
  // Precondition: the run itself raises nothing that crashes or corrupts, PP008 least of all.
  for (const ViolationSummary& v : run.violations) {
    EXPECT_NE(v.severity, "crash") << v.id;
    EXPECT_NE(v.severity, "corruption") << v.id;
  }
  const Trace recorded = TraceOf(*r, run, LabConfigFor(*s, "dma-tracking"));
  ASSERT_EQ(recorded.violations.count("PP008"), 0u);

  // Plant the bug: after op ~7,000, a driver recycle is issued twice (a double put of a page the
  // driver already returned).
  size_t j = 7000;
  while (j < recorded.ops.size() &&
         !absl::StartsWith(recorded.ops[j].line, "page_pool_put_page ")) {
    ++j;
  }
  ASSERT_LT(j, recorded.ops.size()) << "no driver recycle after op 7000";
  Trace planted = recorded;
  planted.ops.insert(planted.ops.begin() + j + 1, recorded.ops[j]);
  absl::StatusOr<StepRun> full = RunSteps(planted.config, StepsOf(planted), "PP008", false);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(full->raised);
  EXPECT_EQ(full->raised_at, j + 1) << "only the planted op raises PP008";

  absl::StatusOr<ShrinkResult> shrunk = Shrink(planted, {.violation = "PP008"});
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(shrunk->outcome, ShrinkResult::Outcome::kShrunk);
  EXPECT_LE(shrunk->steps.size(), 20u) << ::testing::PrintToString(Lines(shrunk->steps));
  std::cout << "[ shrink  ] " << planted.ops.size() << " ops -> " << shrunk->steps.size()
            << " in " << shrunk->runs << " runs (" << shrunk->rejected_new
            << " refused for new ids), " << shrunk->seconds << " s; original raised "
            << ::testing::PrintToString(shrunk->original_ids) << "; refused by id "
            << ::testing::PrintToString(shrunk->rejected_by_id) << "\n";
  // The fidelity rule: the reproducer raises only ids the original run raised up to its cut.
  absl::StatusOr<StepRun> check = RunSteps(planted.config, shrunk->steps, "PP008", true);
  ASSERT_TRUE(check.ok() && check->raised);
  for (const std::string& id : ViolationIdsOf(check->ids)) {
    EXPECT_THAT(shrunk->original_ids, ::testing::Contains(id));
  }

  // The scenario written from it loads back and still raises PP008: it passes as a regression
  // test (expect occur) and, without its expect block, fails with PP008 (a safety violation).
  const std::string yaml = ScenarioToYaml(
      ShrunkScenario(planted, shrunk->steps, "PP008", "planted.trace.jsonl"));
  absl::StatusOr<Scenario> back = LoadScenarioText(yaml, "shrunk.yaml");
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
  absl::StatusOr<ScenarioResult> rerun = RunScenario(*back, *target);
  ASSERT_TRUE(rerun.ok()) << rerun.status();
  ASSERT_EQ(rerun->runs.size(), 1u);
  const auto raised = [](const RunResult& x, const std::string& id) {
    return std::any_of(x.violations.begin(), x.violations.end(),
                       [&](const ViolationSummary& v) { return v.id == id; });
  };
  EXPECT_TRUE(raised(rerun->runs[0], "PP008")) << yaml;
  EXPECT_EQ(rerun->runs[0].verdict, Verdict::kPass) << rerun->runs[0].checks[0].message;
  back->expect.clear();
  absl::StatusOr<ScenarioResult> bare = RunScenario(*back, *target);
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->runs[0].verdict, Verdict::kSafety);
  EXPECT_THAT(bare->runs[0].checks[0].message, HasSubstr("PP008"));
  EXPECT_EQ(ExitCodeFor(*bare), 1);
}

}  // namespace
}  // namespace ppsim::chaos
