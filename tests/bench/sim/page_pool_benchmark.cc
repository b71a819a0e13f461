// Speed of the pool's hot paths (issue: AllocRecycleDirect ≤ 3 × BM_Baseline_LifoArray and
// ≤ 20 ns per alloc+recycle pair). The pool is driven through its C++ API, the way the op
// handlers call it, so the numbers are the model's cost without op dispatch.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>

#include "server/sim/lab.h"
#include "server/sim/lab_test_peer.h"

namespace ppsim::sim {
namespace {

// The floor: push and pop on a bare 128-entry array, what the alloc cache is.
void BM_Baseline_LifoArray(benchmark::State& state) {
  std::array<uint64_t, 128> stack{};
  uint32_t count = 64;
  for (auto _ : state) {
    uint64_t top = stack[--count];
    benchmark::DoNotOptimize(top);
    stack[count++] = top;
    benchmark::DoNotOptimize(stack);
  }
}
BENCHMARK(BM_Baseline_LifoArray);

struct PoolFixture {
  std::unique_ptr<Lab> lab;
  PagePool* pool = nullptr;
  explicit PoolFixture(uint32_t flags, bool page_history = true) {
    LabConfig cfg;
    cfg.ram_bytes = uint64_t{1} << 30;
    cfg.page_history = page_history;
    lab = *Lab::Create(cfg);
    const DeviceId dev = lab->Apply({.body = op::AddDevice{}})->device;
    const PoolId id = lab->Apply({.body = op::BindDriver{.device = dev, .flags = flags}})->pools[0];
    pool = LabTestPeer::machine(*lab).FindPool(id);
  }
};

double BaselineNs() {
  std::array<uint64_t, 128> stack{};
  uint32_t count = 64;
  constexpr int kN = 1 << 22;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    uint64_t top = stack[--count];
    benchmark::DoNotOptimize(top);
    stack[count++] = top;
    benchmark::DoNotOptimize(stack);
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kN;
}

// page_pool_alloc_pages + page_pool_recycle_direct in the pool's NAPI context: the alloc cache
// round trip (docs/kernel/page-pool.md §3.1 step 1, §3.4 step 2).
// Arg 1: with the per-page history (the default); arg 0: LabConfig::page_history off.
void BM_PagePool_AllocRecycleDirect(benchmark::State& state) {
  PoolFixture f(/*flags=*/1, /*page_history=*/state.range(0) != 0);
  Machine& m = LabTestPeer::machine(*f.lab);
  m.ctx = {CtxKind::kSoftirq, 0};
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const Pfn pfn = *f.pool->AllocPages(m);
    f.pool->PutPage(m, pfn, -1, /*allow_direct=*/true);
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                    static_cast<double>(state.iterations());
  state.counters["x_baseline"] = ns / BaselineNs();
  state.counters["recycle_cached"] = static_cast<double>(f.pool->recycle_stats().cached);
}
BENCHMARK(BM_PagePool_AllocRecycleDirect)->ArgName("history")->Arg(1)->Arg(0);

// Return from another context (process): every put goes through the ptr_ring and the alloc
// side refills 64 at a time (§3.1 step 2, §3.4 step 3).
void BM_PagePool_AllocPutRing(benchmark::State& state) {
  PoolFixture f(/*flags=*/1);
  Machine& m = LabTestPeer::machine(*f.lab);
  for (auto _ : state) {
    m.ctx = {CtxKind::kSoftirq, 0};
    const Pfn pfn = *f.pool->AllocPages(m);
    m.ctx = {CtxKind::kProcess, 1};
    f.pool->PutPage(m, pfn, -1, /*allow_direct=*/false);
  }
  state.counters["refills"] = static_cast<double>(f.pool->alloc_stats().refill);
}
BENCHMARK(BM_PagePool_AllocPutRing);

}  // namespace
}  // namespace ppsim::sim
