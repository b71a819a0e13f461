// The four ppsim services over one lab registry and event hub, and the transport settings
// they are served with. ppsimd and the in-process tests build their servers through this, so
// the tests exercise the daemon's message sizes and keepalive.
//
//   LabRegistry labs(&hub);
//   Services services(&labs, &hub, &rpc_observer);  // rpc_observer.h
//   grpc::ServerBuilder builder;
//   services.AddTo(&builder);
#ifndef PPSIM_SERVER_SERVICE_SERVICES_H_
#define PPSIM_SERVER_SERVICE_SERVICES_H_

#include <grpcpp/server_builder.h>

#include <string>
#include <vector>

#include "server/service/fault_service.h"
#include "server/service/lab_service.h"
#include "server/service/ops_service.h"
#include "server/service/query_service.h"
#include "server/service/quota.h"

namespace ppsim::service {

struct Services {
  // Everything must outlive the server; `observer` may be null. Open mode, no quotas.
  Services(LabRegistry* labs, EventHub* hub, RpcObserver* observer,
           size_t watch_queue = kWatchQueueEvents)
      : Services(labs, hub, observer, CallPolicy{}, watch_queue) {}
  // With authentication and quotas (quota.h): what ppsimd serves.
  Services(LabRegistry* labs, EventHub* hub, RpcObserver* observer,
           const CallPolicy& policy, size_t watch_queue = kWatchQueueEvents)
      : policy_{policy.auth != nullptr ? policy.auth : &open_,
                policy.quota != nullptr ? policy.quota : &unlimited_, policy.max_message_bytes},
        lab(labs, observer, policy_),
        ops(labs, observer, policy_),
        query(labs, hub, observer, policy_, watch_queue),
        fault(labs, observer, policy_) {}

  // Registers the services and sets message sizes and keepalive (values in services.cc).
  void AddTo(grpc::ServerBuilder* builder);

  // "ppsim.v1.LabService", ...: the names grpc.health.v1 answers for.
  static std::vector<std::string> Names();

 private:
  // The policy's stand-ins when it names none; declared first, so built before the services.
  Authenticator open_;
  Quota unlimited_;
  CallPolicy policy_;

 public:
  LabServiceImpl lab;
  OpsServiceImpl ops;
  QueryServiceImpl query;
  FaultServiceImpl fault;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_SERVICES_H_
