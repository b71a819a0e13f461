// ppsim.v1.FaultService (docs/design.md §3.10, §4): arming and clearing fault sites. Each call is
// applied as a set_fault / clear_faults op through the registry, so it is in the lab's trace
// (a replay reproduces the same fault decisions) and counted like any op. Unlike a batch, a
// rejected op is the RPC's status, naming the request field ("fault.site: ..."). Only the
// lab's owner may arm its faults (auth.h); each call counts as a batch of one op (quota.h).
#ifndef PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_
#define PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/lab_registry.h"
#include "server/service/quota.h"
#include "server/service/raw_method.h"
#include "server/service/rpc_observer.h"

namespace ppsim::service {

class FaultServiceImpl final : public RawService<v1::FaultService::CallbackService> {
 public:
  // `labs` and the policy's objects must outlive the service; `observer` may be null.
  FaultServiceImpl(LabRegistry* labs, RpcObserver* observer, const CallPolicy& policy);

 private:
  absl::Status OnSetFault(grpc::CallbackServerContext* ctx, const v1::SetFaultRequest& req,
                          v1::SetFaultResponse* resp);
  absl::Status OnClearFaults(grpc::CallbackServerContext* ctx, const v1::ClearFaultsRequest& req,
                             v1::ClearFaultsResponse* resp);
  // Authentication, ownership and the quotas of a batch of one op on `lab`.
  absl::Status Admit(grpc::CallbackServerContext* ctx, uint64_t lab);

  LabRegistry* labs_;
  const Authenticator& auth_;
  Quota& quota_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_FAULT_SERVICE_H_
