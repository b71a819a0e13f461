#include "client/lib/status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace ppsim::client {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::Status RejectionStatus(const v1::Rejection& r) {
  // google.rpc.Code runs from OK (0) to UNAUTHENTICATED (16).
  const bool known = r.code() > 0 && r.code() <= 16;
  const absl::StatusCode code =
      known ? static_cast<absl::StatusCode>(r.code()) : absl::StatusCode::kUnknown;
  std::string message = r.message();
  if (message.empty()) message = absl::StrCat("ops[", r.index(), "] was rejected");
  if (!known) absl::StrAppend(&message, " (rejection code ", r.code(), ")");
  return absl::Status(code, message);
}

absl::Status ApplyStatus(const v1::ApplyResponse& r) {
  if (!r.has_rejected()) return absl::OkStatus();
  return RejectionStatus(r.rejected());
}

}  // namespace ppsim::client
