// client/chaos/generator: determinism, validity (the lab never refuses a generated op under
// any strategy), weights, faults, the heal phase; and the runner's chaos phase (sometimes
// goals, trace, inflight samples that do not perturb the digest).
#include "client/chaos/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

Scenario MustLoad(const std::string& yaml) {
  absl::StatusOr<Scenario> s = LoadScenarioText(yaml, "t.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

RunResult MustRunOne(const Scenario& s, const RunOptions& o = {}) {
  std::unique_ptr<LabTarget> t = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(s, *t, o);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->runs.empty()) return {};
  return r->runs[0];
}

std::string ChaosYaml(const std::string& strategy, uint64_t ops, const std::string& extra = "") {
  const bool ppc = strategy == "tce-wait";
  // x86: arm-smmu with 6.12-6.14's IOMMU release rule, where a late unmap after removal still
  // oopses (docs/kernel/skb-and-iommu.md §4.5); on v6.15 as released it is dma-direct's no-op.
  return absl::StrCat("name: c\nprofile: v6.15\nlab: {iommu: ",
                      ppc ? "ppc-ddw"
                          : "arm-smmu, profile_switches: {iommu_release_rule: dma-iommu-kept}",
                      ", seed: 1}\nstrategies: [", strategy,
                      "]\nexpect: {default: {none: false}}\nchaos:\n  ops: ", ops, "\n", extra);
}

// The op names of a run's trace from `from` on.
std::vector<std::string> OpNames(const RunResult& r, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < r.trace.size(); ++i) {
    out.push_back(r.trace[i].line.substr(0, r.trace[i].line.find(' ')));
  }
  return out;
}

TEST(ChaosGeneratorTest, SameSeedSameStepsDifferentSeedsDiffer) {
  ChaosSpec spec;
  spec.ops = 500;
  auto steps = [&](uint64_t seed) {
    // Generate without a lab: every step observed with an empty result is a legal (if
    // boring) world, and the text must still be a pure function of the seed.
    ChaosGenerator g(spec, seed, "dma-tracking");
    std::vector<std::string> out;
    while (!g.Done(0)) {
      std::vector<Step> b = g.Next(kChaosBatch);
      if (b.empty()) break;
      for (const Step& s : b) {
        out.push_back(s.op_line);
        g.Observe(s, v1::OpResult());
      }
    }
    return out;
  };
  EXPECT_EQ(steps(7), steps(7));
  EXPECT_NE(steps(7), steps(8));

  // Against a lab: same seed, same trace and digest; another seed, another digest.
  const Scenario s = MustLoad(ChaosYaml("dma-tracking", 1500));
  RunOptions o{.seed = 11, .record_trace = true};
  const RunResult a = MustRunOne(s, o);
  const RunResult b = MustRunOne(s, o);
  ASSERT_EQ(a.trace.size(), b.trace.size());
  for (size_t i = 0; i < a.trace.size(); ++i) ASSERT_EQ(a.trace[i].line, b.trace[i].line) << i;
  EXPECT_EQ(a.digest, b.digest);
  o.seed = 12;
  EXPECT_NE(MustRunOne(s, o).digest, a.digest);
  EXPECT_GT(a.ops, 1500u);
}

// The generator's contract: it never emits an op the lab refuses, under every strategy.
TEST(ChaosGeneratorTest, TwentySeedsTwoThousandOpsNoRejectionUnderEveryStrategy) {
  for (const char* strategy :
       {"legacy", "dma-tracking", "release-on-destroy", "scan", "items", "tce-wait"}) {
    const Scenario s = MustLoad(ChaosYaml(strategy, 2000));
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      const RunResult r = MustRunOne(s, {.seed = seed});
      ASSERT_EQ(r.rejected_ops, 0u)
          << strategy << " seed " << seed << ": "
          << (r.rejections.empty() ? "" : r.rejections.front());
      ASSERT_GT(r.ops, 2000u) << strategy << " seed " << seed;
    }
  }
}

// A safe strategy with no faults: whatever the generator does is legal kernel behaviour, so
// crash and corruption violations would be the model's (or the generator's) bug.
TEST(ChaosGeneratorTest, SafeStrategiesRaiseNoCrashOrCorruption) {
  for (const char* strategy : {"dma-tracking", "release-on-destroy"}) {
    const Scenario s = MustLoad(ChaosYaml(strategy, 3000, "liveness: {advance: 130s}\n"));
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      const RunResult r = MustRunOne(s, {.seed = seed});
      for (const ViolationSummary& v : r.violations) {
        EXPECT_TRUE(v.severity != "crash" && v.severity != "corruption")
            << strategy << " seed " << seed << ": " << v.id << " x" << v.count << " first at op "
            << v.first_op;
      }
      EXPECT_EQ(r.rejected_ops, 0u);
    }
  }
}

// The same workload under legacy does what the kernel did before 6.15 when a removal races
// pages in flight.
TEST(ChaosGeneratorTest, LegacyWithTeardownsInFlightCrashes) {
  const Scenario s = MustLoad(ChaosYaml(
      "legacy", 3000, "  weights: {alloc: 10, build_skb: 10, hold: 5, release: 2, remove: 1, "
                      "rebind: 1, advance_time: 2, free: 3}\n"));
  std::set<std::string> ids;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    for (const ViolationSummary& v : MustRunOne(s, {.seed = seed}).violations) ids.insert(v.id);
  }
  EXPECT_TRUE(ids.count("PP001")) << "late unmaps after removal";
  EXPECT_TRUE(ids.count("PP005")) << "dma-debug's report at unbind";
}

TEST(ChaosGeneratorTest, ZeroWeightNeverEmittedAndOnlyAllocEmitsOnlyAllocs) {
  ChaosSpec spec;
  spec.ops = 3000;
  spec.weights = {{"alloc", 1}};
  GeneratorOptions o;
  o.drain = false;
  ChaosGenerator g(spec, 3, "", o);
  std::map<std::string, int> ops;
  uint64_t after_setup = 0;
  while (!g.Done(0)) {
    std::vector<Step> b = g.Next(kChaosBatch);
    if (b.empty()) break;
    for (const Step& s : b) {
      const std::string name = s.op_line.substr(0, s.op_line.find(' '));
      ++ops[name];
      v1::OpResult r;
      if (name == "add_device") r.set_device(1);
      if (name == "bind_driver") r.add_pools(1);
      if (name == "page_pool_alloc_pages") r.add_pages()->mutable_page()->set_pfn(16);
      g.Observe(s, r);
    }
    after_setup = g.generated();
  }
  EXPECT_EQ(after_setup, 3000u);
  EXPECT_EQ(ops["page_pool_alloc_pages"], 3000);
  EXPECT_EQ(ops.size(), 4u) << "alloc plus the setup (add_device, bind_driver, napi_schedule)";
  EXPECT_EQ(ops["napi_schedule"], ops["bind_driver"])
      << "each bound queue's NAPI (one per bind here) is polled from the start";

  // In a real run with `free` and `consume` at 0: no napi_consume_skb, and kfree_skb only
  // where a merged coalesce frees `from`, until the heal phase (not chaos) begins.
  const Scenario s =
      MustLoad(ChaosYaml("dma-tracking", 2000,
                         "  weights: {alloc: 3, build_skb: 3, clone: 1, hold: 1, release: 1, "
                         "free: 0, consume: 0, coalesce: 1, defer_free: 1}\n"));
  const RunResult r = MustRunOne(s, {.seed = 5, .record_trace = true});
  const std::vector<std::string> names = OpNames(r);
  // The heal phase starts at the first op past the 2000 chaos ops; count only before it.
  size_t chaos_end = 0;
  for (size_t i = 0, seen = 0; i < names.size(); ++i) {
    if (names[i] != "add_device" && names[i] != "bind_driver") ++seen;
    if (seen == 2000) {
      chaos_end = i + 1;
      break;
    }
  }
  ASSERT_GT(chaos_end, 0u);
  int kfree = 0, consume = 0, coalesce = 0;
  for (size_t i = 0; i < chaos_end; ++i) {
    consume += names[i] == "napi_consume_skb";
    coalesce += names[i] == "skb_try_coalesce";
    // kfree_skb also follows a merged coalesce (the caller frees `from`): allowed then only.
    if (names[i] == "kfree_skb") ++kfree;
  }
  EXPECT_EQ(consume, 0);
  EXPECT_GT(coalesce, 0);
  EXPECT_LE(kfree, coalesce);
}

TEST(ChaosGeneratorTest, FaultsAreSetFirstAndFire) {
  const Scenario s = MustLoad(ChaosYaml("dma-tracking", 1000,
                                        "  faults:\n"
                                        "    - {site: fail_dma_map, probability: 0.2, times: 5}\n"
                                        "sometimes: [fault_fired, \"fault_fired:fail_dma_map\"]\n"));
  const RunResult r = MustRunOne(s, {.seed = 2, .record_trace = true});
  ASSERT_FALSE(r.trace.empty());
  EXPECT_THAT(r.trace[0].line, HasSubstr("set_fault"));
  EXPECT_THAT(r.trace[0].line, HasSubstr("site=fail_dma_map"));
  EXPECT_EQ(r.verdict, Verdict::kPass) << r.checks.back().message;
  EXPECT_EQ(r.rejected_ops, 0u);
  bool cleared = false;
  for (const TracedOp& t : r.trace) cleared = cleared || t.line == "clear_faults";
  EXPECT_TRUE(cleared) << "the heal phase clears the faults";
}

TEST(ChaosGeneratorTest, SurpriseRemoveFaultKeepsTheGeneratorValid) {
  const Scenario s = MustLoad(ChaosYaml(
      "dma-tracking", 2000, "  faults:\n    - {site: surprise_remove, probability: 0.002}\n"));
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    EXPECT_EQ(MustRunOne(s, {.seed = seed}).rejected_ops, 0u) << seed;
  }
}

// Heal + liveness: under dma-tracking the pools drain once the generator let go of everything.
TEST(ChaosRunnerTest, HealPhaseThenLivenessPassesOnASafeStrategy) {
  const Scenario s = MustLoad(ChaosYaml("dma-tracking", 2000, "liveness: {advance: 130s}\n"));
  const RunResult r = MustRunOne(s, {.seed = 4});
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_TRUE(r.checks[1].ok) << r.checks[1].message;
}

TEST(ChaosRunnerTest, SometimesGoalsReachedOrUnknown) {
  const Scenario reached = MustLoad(ChaosYaml(
      "dma-tracking", 3000,
      "  weights: {alloc: 10, build_skb: 10, hold: 8, release: 1, unbind: 2, rebind: 2, "
      "free: 2}\nsometimes: [unbind_while_inflight, pool_detached_with_inflight]\n"));
  const RunResult a = MustRunOne(reached, {.seed = 1});
  EXPECT_EQ(a.verdict, Verdict::kPass) << a.checks.back().message;

  // No teardown at all: the goal cannot be reached and the verdict is unknown (exit 2).
  const Scenario never = MustLoad(ChaosYaml(
      "dma-tracking", 500, "  weights: {alloc: 1, recycle: 1}\nsometimes: [unbind_while_inflight, "
                           "violation:PP001]\n"));
  std::unique_ptr<LabTarget> t = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(never, *t, {.seed = 1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->runs[0].verdict, Verdict::kUnknown);
  EXPECT_THAT(r->runs[0].checks.back().message, HasSubstr("unbind_while_inflight"));
  EXPECT_THAT(r->runs[0].checks.back().message, HasSubstr("violation:PP001"));
  EXPECT_EQ(ExitCodeFor(*r), 2);
}

TEST(ChaosRunnerTest, TraceEventsAndInflightSamplesDoNotChangeTheDigest) {
  const Scenario s = MustLoad(ChaosYaml("legacy", 4000,
                                        "  weights: {alloc: 10, build_skb: 8, hold: 6, "
                                        "release: 2, remove: 1, rebind: 1, free: 3}\n"));
  const RunResult plain = MustRunOne(s, {.seed = 9});
  const RunResult full = MustRunOne(s, {.seed = 9, .record_trace = true, .sample_inflight = true});
  EXPECT_EQ(plain.digest, full.digest);
  EXPECT_EQ(full.trace.size(), full.ops) << "every applied op, setup and heal included";
  EXPECT_GT(full.inflight.size(), 300u);
  EXPECT_LT(full.inflight.size(), 700u);
  for (size_t i = 1; i < full.inflight.size(); ++i) {
    ASSERT_GT(full.inflight[i].op, full.inflight[i - 1].op);
  }
  uint64_t stored = 0;
  for (const ViolationSummary& v : full.violations) stored += v.count;
  EXPECT_FALSE(full.events.empty());
  EXPECT_LE(full.events.size(), stored);
  for (const ViolationEvent& e : full.events) EXPECT_LT(e.op, full.ops);
  EXPECT_EQ(full.seed, 9u);
}

TEST(ChaosLoaderTest, BadChaosBlocksNameFileLineAndField) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<Scenario> s = LoadScenarioText(yaml, "bad.yaml");
    EXPECT_FALSE(s.ok());
    return std::string(s.status().message());
  };
  const std::string bad_weight = error("name: x\nchaos:\n  weights: {alloc: 1, allocc: 2}\n");
  EXPECT_THAT(bad_weight, HasSubstr("bad.yaml:3: chaos.weights.allocc"));
  EXPECT_THAT(bad_weight, HasSubstr("alloc, alloc_frag, recycle"));
  EXPECT_THAT(error("name: x\nchaos:\n  weights: {alloc: -1}\n"), HasSubstr("chaos.weights.alloc"));
  EXPECT_THAT(error("name: x\nchaos:\n  weights: {alloc: 0}\n"), HasSubstr("every weight is 0"));
  EXPECT_THAT(error("name: x\nchaos:\n  faults:\n    - {site: fail_everything}\n"),
              HasSubstr("bad.yaml:4: chaos.faults[0].site"));
  EXPECT_THAT(error("name: x\nchaos:\n  faults:\n    - {site: fail_dma_map, probability: 2}\n"),
              HasSubstr("chaos.faults[0].probability"));
  EXPECT_THAT(error("name: x\nchaos: {ops: 0}\n"), HasSubstr("chaos.ops"));
  EXPECT_THAT(error("name: x\nchaos: {ops: 5}\nsometimes: [sometimes_maybe]\n"),
              HasSubstr("bad.yaml:3: sometimes[0]"));
}

// Fragment pages (alloc_frag, default weight 5): the generator drops each reference as the
// kind it took. skb_frag_ref is a get_page on released kernels (docs/kernel/skb-and-iommu.md §2
// table), so it goes back with put_page; dropping it with napi_pp_put_page stole a live
// fragment's pp_ref_count and raised PP009/PP016 under safe strategies (chaos_world.cc,
// Observe). Under a580ea994fd3's rule the op reports a pp reference and napi_pp_put_page is right.
int Count(const std::vector<std::string>& names, const std::string& op) {
  return static_cast<int>(std::count(names.begin(), names.end(), op));
}

TEST(ChaosGeneratorTest, DefaultWeightsAllocFragmentsAndDropFragRefsAsPageRefs) {
  const Scenario s = MustLoad(ChaosYaml("dma-tracking", 3000));
  int frags = 0, frag_refs = 0, put_page = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const std::vector<std::string> names = OpNames(MustRunOne(s, {.seed = seed, .record_trace = true}));
    frags += Count(names, "page_pool_alloc_frag");
    frag_refs += Count(names, "skb_frag_ref");
    put_page += Count(names, "put_page");
    EXPECT_EQ(Count(names, "napi_pp_put_page"), 0) << "seed " << seed;
  }
  EXPECT_GT(frags, 0);
  EXPECT_GT(frag_refs, 0);
  EXPECT_GT(put_page, 0);

  const Scenario pp = MustLoad(absl::StrCat(
      "name: c\nprofile: v6.15\nlab: {seed: 1, profile_switches: {frag_ref_takes_pp_ref: \"true\"}}\n"
      "strategies: [dma-tracking]\nexpect: {default: {none: false}}\nchaos:\n  ops: 3000\n"));
  int pp_puts = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    pp_puts += Count(OpNames(MustRunOne(pp, {.seed = seed, .record_trace = true})),
                     "napi_pp_put_page");
  }
  EXPECT_GT(pp_puts, 0) << "a pp reference goes back through the pp path";
}

// The safety proof with fragment pages weighted up, with GRO and coalesce of skbs over them:
// 10 seeds x 3000 ops under each safe strategy, no crash or corruption violation.
TEST(ChaosGeneratorTest, FragmentHeavyMixRaisesNoCrashOrCorruptionOnSafeStrategies) {
  for (const char* strategy : {"dma-tracking", "release-on-destroy"}) {
    const Scenario s = MustLoad(ChaosYaml(
        strategy, 3000,
        "  weights: {alloc: 10, alloc_frag: 15, recycle: 8, build_skb: 14, clone: 4, "
        "expand_head: 2, trim: 2, segment: 1, coalesce: 4, gro: 4, frag_ref: 4, pull_page: 2, "
        "hold: 6, release: 4, free: 7, consume: 5, defer_free: 3, net_rx: 3, advance_time: 3, "
        "device_dma: 4, gup: 1, unbind: 0.3, remove: 0.2, rebind: 0.6, destroy: 0.2, "
        "create: 0.2}\nliveness: {advance: 130s}\n"));
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      const RunResult r = MustRunOne(s, {.seed = seed});
      for (const ViolationSummary& v : r.violations) {
        EXPECT_TRUE(v.severity != "crash" && v.severity != "corruption")
            << strategy << " seed " << seed << ": " << v.id << " x" << v.count << " first at op "
            << v.first_op;
      }
      EXPECT_EQ(r.rejected_ops, 0u) << strategy << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace ppsim::chaos
