#include "server/service_metrics.h"

#include <memory>
#include <vector>

#include "server/store/mutex.h"

namespace ppsim {

void RpcMetricsObserver::OnRpcDone(const char* method, int grpc_code, double seconds) {
  metrics_->Observe(method, grpc_code, seconds);
}

size_t RegistryLabSource::ForEachLab(
    const std::function<void(const metrics::LabView&)>& fn) const {
  const std::vector<std::shared_ptr<service::LabEntry>> entries = labs_->List();
  for (const std::shared_ptr<service::LabEntry>& e : entries) {
    ppsim::MutexLock lock(&e->mu);
    // Create and Recover publish an entry only with its model; a null one is skipped, not read.
    if (e->lab == nullptr) continue;
    fn(metrics::LabView{e->id, *e->lab, e->ops_by_name, e->recovery_problem});
  }
  return entries.size();
}

}  // namespace ppsim
