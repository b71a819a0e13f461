#include "server/metrics/metrics.h"

#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "server/sim/device.h"
#include "server/sim/fault_injector.h"
#include "server/sim/page_pool.h"
#include "server/sim/violation.h"

namespace ppsim::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

constexpr double kNanosPerSecond = 1e9;

// Per-pool series, one row each. Names mirror the netlink page-pool attributes and the 11
// page-pool-stats (docs/kernel/page-pool.md §2.4, §6.1); `value` returns nullopt when the kernel
// would omit the attribute (detach-time while the pool is attached).
struct PoolMetric {
  const char* name;
  const char* help;
  MetricType type;
  std::optional<double> (*value)(const sim::PoolInfo&);
};

const PoolMetric kPoolMetrics[] = {
    {"ppsim_page_pool_inflight_pages",
     "Pages handed out by the pool and not yet returned (netlink inflight: hold_cnt - "
     "release_cnt, clamped at 0; includes pages cached inside the pool).",
     MetricType::Gauge, [](const sim::PoolInfo& p) -> std::optional<double> { return p.inflight; }},
    {"ppsim_page_pool_inflight_bytes",
     "Memory held by in-flight pages (netlink inflight-mem: inflight * PAGE_SIZE << order).",
     MetricType::Gauge,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.inflight_mem; }},
    {"ppsim_page_pool_detach_time_seconds",
     "Virtual CLOCK_BOOTTIME seconds at which page_pool_destroy first found pages in flight "
     "(netlink detach-time); only present for detached pools.",
     MetricType::Gauge, [](const sim::PoolInfo& p) -> std::optional<double> {
       if (!p.detach_time) return std::nullopt;
       return static_cast<double>(*p.detach_time);
     }},
    {"ppsim_page_pool_alloc_fast_total",
     "Pages popped from the pool's alloc cache (page-pool-stats alloc-fast).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.fast; }},
    {"ppsim_page_pool_alloc_slow_total",
     "Order-0 slow-path bulk allocations that returned a page (page-pool-stats alloc-slow).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.slow; }},
    {"ppsim_page_pool_alloc_slow_high_order_total",
     "Order > 0 pages allocated from the buddy allocator (page-pool-stats "
     "alloc-slow-high-order).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.slow_high_order; }},
    {"ppsim_page_pool_alloc_empty_total",
     "Refills that found the ptr_ring empty and forced the slow path (page-pool-stats "
     "alloc-empty).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.empty; }},
    {"ppsim_page_pool_alloc_refill_total",
     "Refills from the ptr_ring that produced at least one page (page-pool-stats alloc-refill).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.refill; }},
    {"ppsim_page_pool_alloc_waive_total",
     "Pages taken from the ring on the wrong NUMA node and released (page-pool-stats "
     "alloc-waive).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.alloc.waive; }},
    {"ppsim_page_pool_recycle_cached_total",
     "Pages recycled directly into the alloc cache (page-pool-stats recycle-cached).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.recycle.cached; }},
    {"ppsim_page_pool_recycle_cache_full_total",
     "Direct recycles that found the alloc cache full (page-pool-stats recycle-cache-full).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.recycle.cache_full; }},
    {"ppsim_page_pool_recycle_ring_total",
     "Pages produced into the ptr_ring (page-pool-stats recycle-ring).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.recycle.ring; }},
    {"ppsim_page_pool_recycle_ring_full_total",
     "Recycles that found the ptr_ring full, so the page was released (page-pool-stats "
     "recycle-ring-full).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.recycle.ring_full; }},
    {"ppsim_page_pool_recycle_released_refcnt_total",
     "Pages that could not be recycled (_refcount != 1 or pfmemalloc) and were released "
     "(page-pool-stats recycle-released-refcnt).",
     MetricType::Counter,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.recycle.released_refcnt; }},
    {"ppsim_page_pool_lock_hold_seconds_max",
     "Longest BH-disabling lock hold the pool's teardown strategy imposed, in virtual seconds.",
     MetricType::Gauge, [](const sim::PoolInfo& p) -> std::optional<double> {
       return static_cast<double>(p.costs.max_lock_hold_ns) / kNanosPerSecond;
     }},
    {"ppsim_page_pool_strategy_memory_bytes",
     "Memory the pool's teardown strategy currently uses to track its pages (items, xarray "
     "nodes).",
     MetricType::Gauge,
     [](const sim::PoolInfo& p) -> std::optional<double> { return p.costs.memory_bytes; }},
};

// Families in a fixed order, filled lab by lab; families without samples are not exposed.
class Families {
 public:
  size_t Add(std::string name, std::string help, MetricType type) {
    out_.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
    return out_.size() - 1;
  }
  void Sample(size_t family, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (out_[family].type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    out_[family].metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> Take() && {
    std::erase_if(out_, [](const MetricFamily& f) { return f.metric.empty(); });
    return std::move(out_);
  }

 private:
  std::vector<MetricFamily> out_;
};

class LabCollectable : public prometheus::Collectable {
 public:
  explicit LabCollectable(const LabSource* labs) : labs_(labs) {}

  std::vector<MetricFamily> Collect() const override {
    Families f;
    Ids ids;
    for (const PoolMetric& m : kPoolMetrics) ids.pool.push_back(f.Add(m.name, m.help, m.type));
    ids.mapped = f.Add("ppsim_iommu_mapped_pages",
                       "Pages currently mapped in the device's IOMMU domain (live IOVA "
                       "mappings, in pages); the series disappears once the device is removed.",
                       MetricType::Gauge);
    ids.iommu_faults = f.Add("ppsim_iommu_faults_total",
                             "What went wrong between a device and its IOMMU, by kind: "
                             "unmapped_iova (a DMAR fault), stale_iotlb and reused_iova (DMA that "
                             "landed silently), teardown (DMA API calls into a freed domain).",
                             MetricType::Counter);
    ids.violations = f.Add("ppsim_violations_total",
                           "Violations raised by the checker, by catalog id, the catalog's "
                           "default severity and the teardown strategy of the pool involved "
                           "(empty when no pool was involved).",
                           MetricType::Counter);
    ids.faults = f.Add("ppsim_faults_injected_total",
                       "Faults injected, by fault site (lifetime of the lab, survives "
                       "clear_faults).",
                       MetricType::Counter);
    ids.ops = f.Add("ppsim_ops_total", "Ops applied to the lab, by op name (rejected ops excluded).",
                    MetricType::Counter);
    ids.time = f.Add("ppsim_virtual_time_seconds",
                     "The lab's virtual clock (CLOCK_BOOTTIME of the simulated machine).",
                     MetricType::Gauge);
    ids.diverged = f.Add("ppsim_lab_recovery_diverged",
                         "1 for a lab whose rebuild from the journal at daemon start diverged "
                         "from it (GetLab's recovery_problem says how); only such labs have a "
                         "series.",
                         MetricType::Gauge);
    const size_t labs = f.Add("ppsim_labs", "Labs currently hosted by the daemon.",
                              MetricType::Gauge);
    const size_t build = f.Add("ppsim_build_info", "ppsim build; the value is always 1.",
                               MetricType::Gauge);

    const size_t hosted = labs_->ForEachLab(
        [&](const LabView& e) { CollectLab(std::to_string(e.id), e, ids, f); });
    f.Sample(labs, {}, static_cast<double>(hosted));
    f.Sample(build, {{"version", PPSIM_VERSION}}, 1);
    return std::move(f).Take();
  }

 private:
  struct Ids {
    std::vector<size_t> pool;
    size_t mapped, iommu_faults, violations, faults, ops, time, diverged;
  };

  // Runs inside LabSource::ForEachLab, with the lab's lock held.
  static void CollectLab(const std::string& lab, const LabView& e, const Ids& ids, Families& f) {
    const sim::Lab& l = e.lab;
    for (const sim::PoolInfo& p : l.AllPools()) {
      if (p.state == sim::PoolState::kFreed) continue;
      Labels labels = {{"lab", lab}, {"pool", std::to_string(p.id)}};
      // The netdev the pool was created for, not netlink's ifindex: that one is omitted once
      // the netdev is unregistered (orphaned to lo), and a label that changes mid-life would
      // end the pool's counter series and start new ones. Absent for invisible pools.
      if (p.netdev != 0 && p.netdev != sim::kNetPtrPoison) {
        labels.push_back({"ifindex", std::to_string(p.netdev)});
      }
      labels.push_back({"strategy", p.strategy});
      for (size_t i = 0; i < std::size(kPoolMetrics); ++i) {
        if (std::optional<double> v = kPoolMetrics[i].value(p)) f.Sample(ids.pool[i], labels, *v);
      }
    }
    for (const sim::DeviceInfo& dev : l.AllDevices()) {
      // Kept after removal: the teardown faults happen precisely then.
      for (int k = 0; k < sim::kIommuFaultKinds; ++k) {
        f.Sample(ids.iommu_faults,
                 {{"lab", lab},
                  {"device", std::to_string(dev.id)},
                  {"kind", sim::IommuFaultKindName(static_cast<sim::IommuFaultKind>(k))}},
                 static_cast<double>(dev.iommu_faults[k]));
      }
      if (dev.state == sim::DeviceState::kRemoved) continue;
      f.Sample(ids.mapped, {{"lab", lab}, {"device", std::to_string(dev.id)}},
               static_cast<double>(dev.mapped_pages));
    }
    for (const auto& [key, count] : l.violation_counts_by_strategy()) {
      // Keyed by the catalog's severity, not the violation's: PP013's escalation to crash
      // would otherwise split one counter in two and the first series would stop growing.
      const sim::CatalogEntry& c = sim::CatalogOf(key.first);
      f.Sample(ids.violations,
               {{"lab", lab},
                {"id", std::string(c.code)},
                {"severity", std::string(sim::SeverityName(c.severity))},
                {"strategy", key.second}},
               static_cast<double>(count));
    }
    // Every site is known in advance: export zeros so that rate() sees the first fault.
    for (const sim::FaultSiteInfo& s : sim::FaultSites()) {
      f.Sample(ids.faults, {{"lab", lab}, {"site", std::string(s.name)}},
               static_cast<double>(l.faults_injected(s.site)));
    }
    for (const auto& [op, count] : e.ops_by_name) {
      f.Sample(ids.ops, {{"lab", lab}, {"op", op}}, static_cast<double>(count));
    }
    f.Sample(ids.time, {{"lab", lab}}, static_cast<double>(l.now()) / kNanosPerSecond);
    // Present only when set, like detach-time: a restart that rebuilt everything exports none.
    if (!e.recovery_problem.empty()) f.Sample(ids.diverged, {{"lab", lab}}, 1);
  }

  const LabSource* labs_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeLabCollectable(const LabSource* labs) {
  return std::make_shared<LabCollectable>(labs);
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : family_(prometheus::BuildHistogram()
                  .Name("ppsim_rpc_handling_seconds")
                  .Help("Time the server took to handle an RPC, by method and final gRPC "
                        "status code.")
                  .Register(registry)) {}

void RpcMetrics::Observe(const std::string& method, int grpc_code, double seconds) {
  // From 10 µs (a query) to 10 s (a large batch of ops).
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1, 5, 10};
  // gRPC and absl share the canonical code numbering; the name ("NOT_FOUND") is the label.
  std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(grpc_code));
  if (code.empty()) code = std::to_string(grpc_code);
  family_.Add({{"method", method}, {"code", std::move(code)}}, kBuckets).Observe(seconds);
}

}  // namespace ppsim::metrics
