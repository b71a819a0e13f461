#include "server/service/rpc_scope.h"

#include <string>

#include "server/service/status.h"
#include "spdlog/spdlog.h"

namespace ppsim::service {

void RpcScope::Record(const grpc::Status& s) const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (observer_ != nullptr) observer_->OnRpcDone(method_, s.error_code(), seconds);
  // Client mistakes are the client's business (debug); INTERNAL is a bug in ppsim (error).
  // Refused credentials, other identities' labs and quotas are the operator's business too
  // (info): an audit trail of who was turned away and why (auth.h, quota.h).
  const grpc::StatusCode code = s.error_code();
  if (code == grpc::StatusCode::INTERNAL) {
    spdlog::error("rpc {} failed after {:.6f} s: INTERNAL: {}", method_, seconds,
                  s.error_message());
  } else if (code == grpc::StatusCode::UNAUTHENTICATED ||
             code == grpc::StatusCode::PERMISSION_DENIED ||
             code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    spdlog::info("rpc {} refused: {}: {}", method_,
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(code)), s.error_message());
  } else if (!s.ok()) {
    spdlog::debug("rpc {} failed after {:.6f} s: {}: {}", method_, seconds,
                  absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())),
                  s.error_message());
  }
}

grpc::ServerUnaryReactor* RpcScope::Finish(grpc::CallbackServerContext* ctx,
                                           const absl::Status& s) const {
  const grpc::Status g = ToGrpc(s);
  Record(g);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(g);
  return reactor;
}

}  // namespace ppsim::service
