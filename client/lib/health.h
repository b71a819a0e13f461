// File: client/lib/health.h
// grpc.health.v1.Health/Check (the standard gRPC health protocol, which ppsimd serves through
// grpc::EnableDefaultHealthCheckService). Debian 12 ships no health.proto, so the two tiny
// messages are encoded by hand and sent through a generic stub: no generated code, and no
// descriptor that could clash with one a server links in.
#ifndef PPSIM_CLIENT_LIB_HEALTH_H_
#define PPSIM_CLIENT_LIB_HEALTH_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ppsim::client {

// grpc.health.v1.HealthCheckResponse.ServingStatus, same numbers.
enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// "SERVING", "NOT_SERVING", ... as the proto spells them.
absl::string_view ServingStatusName(ServingStatus s);

// One Check call. An unknown service is NOT_FOUND from the server (the protocol's rule).
absl::StatusOr<ServingStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                          const std::string& service, absl::Duration timeout);

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_HEALTH_H_
