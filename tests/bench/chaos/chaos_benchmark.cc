// ppsim_bench_chaos: chaos ops per second (items_per_second) through the whole client path:
// generator → $reference resolution → op-line parse → lab (embedded: server/sim in-process;
// remote: a ppsimd started from PPSIMD_PATH, one Apply RPC per kChaosBatch ops). Default
// weights, dma-tracking, 5000 chaos ops per run (+ setup and heal, counted too).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "client/chaos/generator.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/lib/client.h"
#include "tests/bench/bench_daemon.h"

namespace {

using namespace ppsim;

chaos::Scenario ChaosScenario(uint64_t ops) {
  chaos::Scenario s;
  s.name = "bench";
  s.profile = "v6.15";
  s.strategies = {"dma-tracking"};
  s.expect["default"] = chaos::Expectation{};
  s.chaos = chaos::ChaosSpec{.ops = ops};
  return s;
}

void Run(benchmark::State& state, chaos::LabTarget& target) {
  const chaos::Scenario s = ChaosScenario(5000);
  uint64_t seed = 1;
  uint64_t ops = 0;
  for (auto _ : state) {
    absl::StatusOr<chaos::ScenarioResult> r = chaos::RunScenario(s, target, {.seed = seed++});
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    ops += r->runs[0].ops;
    if (r->runs[0].rejected_ops != 0) state.SkipWithError("the lab refused generated ops");
  }
  state.SetItemsProcessed(static_cast<int64_t>(ops));
}

void BM_ChaosEmbedded(benchmark::State& state) {
  std::unique_ptr<chaos::LabTarget> t = chaos::EmbeddedTarget();
  Run(state, *t);
}
BENCHMARK(BM_ChaosEmbedded)->Unit(benchmark::kMillisecond)->UseRealTime();

// The generator alone (no lab): every step observed with an empty result.
void BM_GeneratorOnly(benchmark::State& state) {
  chaos::ChaosSpec spec{.ops = 5000};
  uint64_t steps = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    chaos::ChaosGenerator g(spec, seed++, "dma-tracking");
    const v1::OpResult empty;
    while (!g.Done(0)) {
      std::vector<chaos::Step> b = g.Next(chaos::kChaosBatch);
      if (b.empty()) break;
      for (const chaos::Step& x : b) g.Observe(x, empty);
      steps += b.size();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(steps));
}
BENCHMARK(BM_GeneratorOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

#ifdef PPSIMD_PATH
ppsim::bench::BenchDaemon g_daemon;  // destroyed (SIGTERM) at exit

void BM_ChaosRemote(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(g_daemon.target(), absl::Seconds(5));
  if (!c.ok()) {
    state.SkipWithError("cannot connect to ppsimd");
    return;
  }
  std::unique_ptr<chaos::LabTarget> t = chaos::RemoteTarget(c->get());
  Run(state, *t);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
#ifdef PPSIMD_PATH
  if (g_daemon.Start(PPSIMD_PATH, "ppsim_bench_chaos")) {
    benchmark::RegisterBenchmark("BM_ChaosRemote", BM_ChaosRemote)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  } else {
    std::fprintf(stderr, "ppsim_bench_chaos: ppsimd did not start; remote skipped\n");
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
