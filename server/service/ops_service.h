// ppsim.v1.OpsService (docs/design.md §4): batches of ops, unary (Apply) or as a bidirectional
// stream (Stream). A rejected op is not an RPC error: it is the batch's `rejected` entry and
// the RPC is OK, because everything before it was applied and the client needs those results.
// An unknown or deleted lab is the RPC's status (NOT_FOUND / FAILED_PRECONDITION); on a
// stream it ends the stream. So are the checks of auth.h and quota.h, made before a batch
// runs, so a refused batch changes nothing: UNAUTHENTICATED, PERMISSION_DENIED (someone
// else's lab), RESOURCE_EXHAUSTED (ops per batch, frames, memory, ops per second).
#ifndef PPSIM_SERVER_SERVICE_OPS_SERVICE_H_
#define PPSIM_SERVER_SERVICE_OPS_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/lab_registry.h"
#include "server/service/quota.h"
#include "server/service/raw_method.h"
#include "server/service/rpc_observer.h"

namespace ppsim::service {

class OpsServiceImpl final : public RawService<v1::OpsService::CallbackService> {
 public:
  // `labs` and the policy's objects must outlive the service; `observer` may be null.
  // Stream: one response per request, in request order: the next request is read only after
  // the previous response is written. The RPC metric covers the whole stream.
  OpsServiceImpl(LabRegistry* labs, RpcObserver* observer, const CallPolicy& policy);

 private:
  absl::Status OnApply(grpc::CallbackServerContext* ctx, const v1::ApplyRequest& req,
                       v1::ApplyResponse* resp);

  LabRegistry* labs_;
  RpcObserver* observer_;
  const Authenticator& auth_;
  Quota& quota_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_OPS_SERVICE_H_
