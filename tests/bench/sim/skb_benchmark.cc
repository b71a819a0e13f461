// Cost of skbs carrying pool pages (issue: report ns per skb). The model is driven through its
// C++ API in the pool's NAPI context, so pages recycle through the alloc cache.
#include <benchmark/benchmark.h>

#include <vector>

#include "server/sim/lab.h"
#include "server/sim/lab_test_peer.h"
#include "server/sim/skb.h"

namespace ppsim::sim {
namespace {

struct Rx {
  std::unique_ptr<Lab> lab;
  PagePool* pool = nullptr;
  Rx() {
    LabConfig cfg;
    cfg.ram_bytes = uint64_t{1} << 30;
    lab = *Lab::Create(cfg);
    const DeviceId dev = lab->Apply({.body = op::AddDevice{}})->device;
    const PoolId id = lab->Apply({.body = op::BindDriver{.device = dev, .flags = 1}})->pools[0];
    pool = LabTestPeer::machine(*lab).FindPool(id);
    LabTestPeer::machine(*lab).ctx = {CtxKind::kSoftirq, 0};
  }
  std::vector<FragSpec> Frags(int n) {
    std::vector<FragSpec> f;
    Machine& m = LabTestPeer::machine(*lab);
    for (int i = 0; i < n; ++i) f.push_back({*pool->AllocPages(m), 0, 1500});
    return f;
  }
};

// NAPI builds an skb from 4 pool pages (skb_add_rx_frag + skb_mark_for_recycle) and the stack
// frees it on the same CPU: 4 pp unrefs recycled into the alloc cache.
void BM_Skb_BuildFree4Frags(benchmark::State& state) {
  Rx rx;
  Machine& m = LabTestPeer::machine(*rx.lab);
  for (auto _ : state) {
    const SkbId skb = SkbBuild(m, rx.Frags(4), std::nullopt, true);
    KfreeSkb(m, skb);
  }
  state.counters["recycle_cached"] = static_cast<double>(rx.pool->recycle_stats().cached);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Skb_BuildFree4Frags);

// A 4-frag skb is cloned (a packet tap), the clone uncloned and split (tcp_fragment), then all
// three are freed: page refs from the expand, pp refs from the original.
void BM_Skb_CloneSplitFree(benchmark::State& state) {
  Rx rx;
  Machine& m = LabTestPeer::machine(*rx.lab);
  for (auto _ : state) {
    const SkbId skb = SkbBuild(m, rx.Frags(4), std::nullopt, true);
    const SkbId clone = SkbClone(m, skb);
    PskbExpandHead(m, clone);
    const SkbId tail = SkbSplit(m, clone, 2, 0);
    KfreeSkb(m, tail);
    KfreeSkb(m, clone);
    KfreeSkb(m, skb);
  }
  state.counters["released_refcnt"] = static_cast<double>(rx.pool->recycle_stats().released_refcnt);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Skb_CloneSplitFree);

}  // namespace
}  // namespace ppsim::sim
