// The daemon's wiring between its services and its metrics (docs/architecture.md): neither
// library knows the other, so the concrete glue lives here, in the one layer that links both.
//
//   metrics::RpcMetrics rpc_metrics(*registry);
//   RpcMetricsObserver rpc_observer(&rpc_metrics);      // services report here
//   RegistryLabSource lab_source(&labs);                // metrics read labs through this
//   auto lab_metrics = metrics::MakeLabCollectable(&lab_source);
//   service::Services services(&labs, &hub, &rpc_observer, ...);
#ifndef PPSIM_SERVER_SERVICE_METRICS_H_
#define PPSIM_SERVER_SERVICE_METRICS_H_

#include <cstddef>
#include <functional>

#include "server/metrics/lab_source.h"
#include "server/metrics/metrics.h"
#include "server/service/lab_registry.h"
#include "server/service/rpc_observer.h"

namespace ppsim {

// Every RPC's outcome into ppsim_rpc_handling_seconds. `metrics` must outlive it.
class RpcMetricsObserver final : public service::RpcObserver {
 public:
  explicit RpcMetricsObserver(metrics::RpcMetrics* metrics) : metrics_(metrics) {}
  void OnRpcDone(const char* method, int grpc_code, double seconds) override;

 private:
  metrics::RpcMetrics* metrics_;
};

// The registry's labs as the lab metrics read them, each under its LabEntry::mu. `labs` must
// outlive it.
class RegistryLabSource final : public metrics::LabSource {
 public:
  explicit RegistryLabSource(const service::LabRegistry* labs) : labs_(labs) {}
  size_t ForEachLab(const std::function<void(const metrics::LabView&)>& fn) const override;

 private:
  const service::LabRegistry* labs_;
};

}  // namespace ppsim

#endif  // PPSIM_SERVER_SERVICE_METRICS_H_
