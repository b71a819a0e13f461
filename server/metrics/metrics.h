// Prometheus exposition (docs/design.md §5). Lab metrics are computed at scrape time from the labs'
// counters by a custom Collectable (nothing on the op path touches Prometheus objects); series
// of freed pools and deleted labs disappear because they are simply not collected any more.
// RPC metrics are ordinary prometheus-cpp families built once at startup.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   ppsim::metrics::RpcMetrics rpc(*registry);
//   auto labs = ppsim::metrics::MakeLabCollectable(&lab_source);  // lab_source.h
//   exposer.RegisterCollectable(registry);
//   exposer.RegisterCollectable(labs);
#ifndef PPSIM_SERVER_METRICS_METRICS_H_
#define PPSIM_SERVER_METRICS_METRICS_H_

#include <memory>
#include <string>

#include "prometheus/collectable.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/metrics/lab_source.h"

namespace ppsim::metrics {

// ppsim_page_pool_* (the kernel's netlink attributes and the 11 stats), ppsim_iommu_*,
// ppsim_violations_total{id,severity,strategy}, ppsim_faults_injected_total{site},
// ppsim_ops_total{op}, ppsim_labs, ppsim_build_info — every series labelled with `lab`.
// `labs` must outlive the collectable.
std::shared_ptr<prometheus::Collectable> MakeLabCollectable(const LabSource* labs);

// ppsim_rpc_handling_seconds{method,code}: how long each RPC took, by final status code.
class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry& registry);
  void Observe(const std::string& method, int grpc_code, double seconds);

 private:
  prometheus::Family<prometheus::Histogram>& family_;
};

}  // namespace ppsim::metrics

#endif  // PPSIM_SERVER_METRICS_METRICS_H_
