// The four ppsim services over one lab registry and event hub, and the transport settings
// they are served with. ppsimd and the in-process tests build their servers through this, so
// the tests exercise the daemon's message sizes and keepalive.
//
//   LabRegistry labs(&hub);
//   Services services(&labs, &hub, &rpc_metrics);
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

namespace ppsim::service {

struct Services {
  // Everything must outlive the server; `metrics` may be null.
  Services(LabRegistry* labs, EventHub* hub, metrics::RpcMetrics* metrics,
           size_t watch_queue = kWatchQueueEvents)
      : lab(labs, metrics),
        ops(labs, metrics),
        query(labs, hub, metrics, watch_queue),
        fault(labs, metrics) {}

  // Registers the services and sets message sizes and keepalive (values in services.cc).
  void AddTo(grpc::ServerBuilder* builder);

  // "ppsim.v1.LabService", ...: the names grpc.health.v1 answers for.
  static std::vector<std::string> Names();

  LabServiceImpl lab;
  OpsServiceImpl ops;
  QueryServiceImpl query;
  FaultServiceImpl fault;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_SERVICES_H_
