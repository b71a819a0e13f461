// The one place absl::Status becomes grpc::Status (docs/design.md §4, status codes). Codes map one to one; messages pass through (they already name field and value).
#ifndef PPSIM_SERVER_SERVICE_STATUS_H_
#define PPSIM_SERVER_SERVICE_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ppsim::service {

grpc::Status ToGrpc(const absl::Status& s);
absl::Status FromGrpc(const grpc::Status& s);

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_STATUS_H_
