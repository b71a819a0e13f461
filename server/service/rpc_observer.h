// Where the services report each RPC's outcome (rpc_scope.h). The daemon wires it to
// ppsim_rpc_handling_seconds (server/metrics); the services only know this interface, so they
// link neither the metrics library nor prometheus-cpp, and the metrics never see the services.
#ifndef PPSIM_SERVER_SERVICE_RPC_OBSERVER_H_
#define PPSIM_SERVER_SERVICE_RPC_OBSERVER_H_

namespace ppsim::service {

class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  // Called once per RPC, right before it finishes, from whichever gRPC thread ran it: must be
  // thread-safe. `method` is the full name ("ppsim.v1.OpsService/Apply"), `grpc_code` the
  // final grpc::StatusCode, `seconds` the time since the handler was entered.
  virtual void OnRpcDone(const char* method, int grpc_code, double seconds) = 0;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_RPC_OBSERVER_H_
