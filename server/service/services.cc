#include "server/service/services.h"

#include <grpc/grpc.h>

namespace ppsim::service {

void Services::AddTo(grpc::ServerBuilder* builder) {
  builder->RegisterService(&lab);
  builder->RegisterService(&ops);
  builder->RegisterService(&query);
  builder->RegisterService(&fault);

  // Whole traces travel in one message (limits.h).
  // The receive limit is global: gRPC refuses a bigger request itself, with RESOURCE_EXHAUSTED
  // "received message larger than max (N vs. LIMIT)" (--max-message-bytes, quota.h).
  builder->SetMaxReceiveMessageSize(policy_.max_message_bytes);
  builder->SetMaxSendMessageSize(policy_.max_message_bytes);
  // Ping every connection every 5 s and drop it after 5 s without an answer, with no limit on
  // pings while no data flows: a client that vanished (a killed pod) or stopped (SIGSTOP, a
  // debugger) releases its Watch streams and their per-identity slots within ~10 s, not gRPC's
  // default 2 h. Watch streams are idle for long stretches, so this matters. A ping is 17 bytes.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 5'000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Let clients keep idle channels alive with their own pings, down to one every 10 s (the
  // default, 5 min, answers a 30 s client keepalive with GOAWAY "too_many_pings").
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
}

std::vector<std::string> Services::Names() {
  return {v1::LabService::service_full_name(), v1::OpsService::service_full_name(),
          v1::QueryService::service_full_name(), v1::FaultService::service_full_name()};
}

}  // namespace ppsim::service
