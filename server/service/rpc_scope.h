// Every RPC's handling time and final code go to an RpcObserver (rpc_observer.h; ppsimd's
// records ppsim_rpc_handling_seconds{method,code}, docs/design.md §5) and, at debug level, to the
// log. A scope starts when the handler is entered;
// Record runs once, right before Finish, so a client that has its reply also finds the RPC
// counted.
//
//   grpc::ServerUnaryReactor* GetLab(grpc::CallbackServerContext* ctx, ...) override {
//     RpcScope rpc(observer_, "ppsim.v1.LabService/GetLab");
//     return rpc.Finish(ctx, DoGetLab(...));
//   }
#ifndef PPSIM_SERVER_SERVICE_RPC_SCOPE_H_
#define PPSIM_SERVER_SERVICE_RPC_SCOPE_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <chrono>

#include "absl/status/status.h"
#include "server/service/rpc_observer.h"

namespace ppsim::service {

class RpcScope {
 public:
  // `observer` may be null (tests); `method` is the full name, "ppsim.v1.OpsService/Apply",
  // and must outlive the scope (a string literal).
  RpcScope(RpcObserver* observer, const char* method)
      : observer_(observer), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Record(const grpc::Status& s) const;

  // Unary handlers: records `s` and finishes the library's default reactor with it.
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& s) const;

 private:
  RpcObserver* observer_;
  const char* method_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_RPC_SCOPE_H_
