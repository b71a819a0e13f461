// ppsim.v1.FaultService (design.md §3.10, §4): arming and clearing fault sites. Each call is
// applied as a set_fault / clear_faults op through the registry, so it is in the lab's trace
// (a replay reproduces the same fault decisions) and counted like any op. Unlike a batch, a
// rejected op is the RPC's status, naming the request field ("fault.site: ...").
#ifndef PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_
#define PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/metrics/metrics.h"
#include "server/service/lab_registry.h"

namespace ppsim::service {

class FaultServiceImpl final : public v1::FaultService::CallbackService {
 public:
  // `labs` must outlive the service; `metrics` may be null.
  FaultServiceImpl(LabRegistry* labs, metrics::RpcMetrics* metrics)
      : labs_(labs), metrics_(metrics) {}

  grpc::ServerUnaryReactor* SetFault(grpc::CallbackServerContext* ctx,
                                     const v1::SetFaultRequest* req,
                                     v1::SetFaultResponse* resp) override;
  grpc::ServerUnaryReactor* ClearFaults(grpc::CallbackServerContext* ctx,
                                        const v1::ClearFaultsRequest* req,
                                        v1::ClearFaultsResponse* resp) override;

 private:
  LabRegistry* labs_;
  metrics::RpcMetrics* metrics_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_
