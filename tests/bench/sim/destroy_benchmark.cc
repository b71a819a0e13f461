// Host cost of destroy-time walks, with the virtual time the cost model charges as a counter.
// BM_Destroy_Scan/<GiB of RAM>: the RFC v4 scan over a lab with 1M touched pages (host time
// depends on touched memory; virtual time on all of RAM). BM_Destroy_DmaTracking/<inflight>:
// the v6.15 xarray walk.
#include <benchmark/benchmark.h>

#include "server/sim/lab.h"
#include "server/sim/lab_test_peer.h"

namespace ppsim::sim {
namespace {

constexpr uint32_t kTouchedPages = 1u << 20;

std::unique_ptr<Lab> MakeLab(uint64_t ram_bytes, const std::string& strategy) {
  LabConfig cfg;
  cfg.ram_bytes = ram_bytes;
  cfg.default_strategy = strategy;
  cfg.page_event_log_capacity = 1u << 12;  // history is not what is measured here
  return *Lab::Create(cfg);
}

void BM_Destroy_Scan(benchmark::State& state) {
  const uint64_t ram = static_cast<uint64_t>(state.range(0)) << 30;
  double virtual_s = 0, bytes_per_frame = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto lab = MakeLab(ram, "scan");
    Machine& m = LabTestPeer::machine(*lab);
    const DeviceId dev = lab->Apply({.body = op::AddDevice{}})->device;
    const PoolId id = lab->Apply({.body = op::BindDriver{.device = dev, .flags = 1, .up = true}})->pools[0];
    m.ctx = {CtxKind::kSoftirq, 0};
    PagePool* pool = m.FindPool(id);
    (void)pool->AllocPages(m);  // 64 pages in flight (one bulk)
    for (uint32_t i = 0; i < kTouchedPages - 64; ++i) (void)m.memory.Alloc(0, 0);
    bytes_per_frame = static_cast<double>(m.memory.host_bytes()) /
                      static_cast<double>(m.memory.materialised_sections() * Memory::kSectionPages);
    m.ctx = {CtxKind::kProcess, 0};
    state.ResumeTiming();
    pool->Destroy(m);
    state.PauseTiming();
    virtual_s = static_cast<double>(pool->strategy().costs().max_lock_hold_ns) / 1e9;
    lab.reset();
    state.ResumeTiming();
  }
  state.counters["virtual_lock_hold_s"] = virtual_s;
  state.counters["host_bytes_per_frame"] = bytes_per_frame;
}
BENCHMARK(BM_Destroy_Scan)
    ->Arg(1)->Arg(64)->Arg(384)->Arg(4096)->Arg(12288)->Arg(16384)
    ->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Destroy_DmaTracking(benchmark::State& state) {
  const uint32_t inflight = static_cast<uint32_t>(state.range(0));
  double virtual_ms = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto lab = MakeLab(uint64_t{16} << 30, "dma-tracking");
    Machine& m = LabTestPeer::machine(*lab);
    const DeviceId dev = lab->Apply({.body = op::AddDevice{}})->device;
    const PoolId id = lab->Apply({.body = op::BindDriver{.device = dev, .flags = 1}})->pools[0];
    PagePool* pool = m.FindPool(id);
    m.ctx = {CtxKind::kSoftirq, 0};
    for (uint32_t i = 0; i < inflight; ++i) (void)pool->AllocPages(m);
    m.ctx = {CtxKind::kProcess, 0};
    const Nanos before = pool->strategy().costs().virtual_ns;
    state.ResumeTiming();
    pool->Destroy(m);
    state.PauseTiming();
    virtual_ms = static_cast<double>(pool->strategy().costs().virtual_ns - before) / 1e6;
    lab.reset();
    state.ResumeTiming();
  }
  state.counters["virtual_ms"] = virtual_ms;
}
BENCHMARK(BM_Destroy_DmaTracking)
    ->Arg(64)->Arg(1024)->Arg(16384)->Arg(262144)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace ppsim::sim
