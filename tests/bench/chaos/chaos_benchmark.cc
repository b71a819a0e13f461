// ppsim_bench_chaos: chaos ops per second (items_per_second) through the whole client path:
// generator → $reference resolution → op-line parse → lab (embedded: server/sim in-process;
// remote: a ppsimd started from PPSIMD_PATH, one Apply RPC per kChaosBatch ops). Default
// weights, dma-tracking, 5000 chaos ops per run (+ setup and heal, counted too).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "client/chaos/generator.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/lib/client.h"

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
std::string g_target;
pid_t g_pid = 0;
std::string g_dir;

bool StartDaemon() {
  g_dir = std::filesystem::temp_directory_path() / ("ppsim_bench_chaos." + std::to_string(getpid()));
  std::filesystem::create_directories(g_dir);
  const std::string ready = g_dir + "/ready.json";
  g_pid = fork();
  if (g_pid == 0) {
    const std::string data = g_dir + "/data";
    execl(PPSIMD_PATH, PPSIMD_PATH, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
          "--data-dir", data.c_str(), "--ready-file", ready.c_str(), "--log-level", "warn",
          static_cast<char*>(nullptr));
    std::perror("exec ppsimd");
    _exit(127);
  }
  for (int i = 0; i < 400; ++i) {
    std::ifstream f(ready);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string s = ss.str();
    const size_t k = s.find("\"grpc\"");
    if (k != std::string::npos) {
      const size_t a = s.find('"', s.find(':', k) + 1) + 1;
      g_target = s.substr(a, s.find('"', a) - a);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

void StopDaemon() {
  if (g_pid > 0) {
    kill(g_pid, SIGTERM);
    waitpid(g_pid, nullptr, 0);
  }
  if (!g_dir.empty()) std::filesystem::remove_all(g_dir);
}

void BM_ChaosRemote(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(g_target, absl::Seconds(5));
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
  const bool daemon = StartDaemon();
  if (daemon) {
    benchmark::RegisterBenchmark("BM_ChaosRemote", BM_ChaosRemote)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  } else {
    std::fprintf(stderr, "ppsim_bench_chaos: ppsimd did not start; remote skipped\n");
  }
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
#ifdef PPSIMD_PATH
  StopDaemon();
#endif
  return 0;
}
