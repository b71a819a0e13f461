// ppsim_bench_shrink: `ppctl shrink` and the trace file on issue 5's acceptance input — a
// chaos run (dma-tracking, seed 42) with one double recycle (PP008) planted after op ~70% —
// at 1,000 and 10,000 chaos ops. Counters: trace ops in, steps out, candidate runs.
//   ppsim_bench_shrink --benchmark_filter=Shrink
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"
#include "client/chaos/shrink.h"
#include "client/chaos/trace.h"

namespace ppsim::chaos {
namespace {

// The recorded chaos run with the planted bug, built once per size.
const Trace& Planted(int64_t ops) {
  static std::map<int64_t, Trace> cache;
  if (auto it = cache.find(ops); it != cache.end()) return it->second;
  const std::string yaml = absl::StrCat(
      "name: chaos-bench\nprofile: v6.15\nlab: {iommu: intel, seed: 42}\n"
      "strategies: [dma-tracking]\nchaos: {ops: ", ops, "}\n");
  absl::StatusOr<Scenario> s = LoadScenarioText(yaml, "bench.yaml");
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *target, {.record_trace = true});
  if (!r.ok()) {
    std::fprintf(stderr, "chaos run failed: %s\n", std::string(r.status().message()).c_str());
    std::abort();
  }
  Trace t = TraceOf(*r, r->runs[0], LabConfigFor(*s, "dma-tracking"));
  size_t j = t.ops.size() * 7 / 10;
  while (j < t.ops.size() && !absl::StartsWith(t.ops[j].line, "page_pool_put_page ")) ++j;
  if (j == t.ops.size()) std::abort();
  t.ops.insert(t.ops.begin() + j + 1, t.ops[j]);
  return cache.emplace(ops, std::move(t)).first->second;
}

void BM_ShrinkPlantedDoublePut(benchmark::State& state) {
  const Trace& t = Planted(state.range(0));
  ShrinkResult last;
  for (auto _ : state) {
    absl::StatusOr<ShrinkResult> r = Shrink(t, {.violation = "PP008"});
    if (!r.ok() || r->outcome != ShrinkResult::Outcome::kShrunk) {
      state.SkipWithError("shrink did not finish");
      return;
    }
    last = *std::move(r);
  }
  state.counters["trace_ops"] = static_cast<double>(t.ops.size());
  state.counters["cut"] = static_cast<double>(last.cut);
  state.counters["steps_out"] = static_cast<double>(last.steps.size());
  state.counters["runs"] = static_cast<double>(last.runs);
}
BENCHMARK(BM_ShrinkPlantedDoublePut)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// One candidate execution of the whole trace (resolve, parse, apply): the shrinker's unit cost.
void BM_RunStepsWholeTrace(benchmark::State& state) {
  const Trace& t = Planted(state.range(0));
  const std::vector<ShrinkStep> steps = StepsOf(t);
  for (auto _ : state) {
    absl::StatusOr<StepRun> r = RunSteps(t.config, steps, "", false);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(steps.size()));
}
BENCHMARK(BM_RunStepsWholeTrace)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_TraceJsonlRoundTrip(benchmark::State& state) {
  const Trace& t = Planted(state.range(0));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = TraceToJsonl(t);
    bytes = text.size();
    absl::StatusOr<Trace> back = TraceFromJsonl(text);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(t.ops.size()));
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_TraceJsonlRoundTrip)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ppsim::chaos

BENCHMARK_MAIN();
