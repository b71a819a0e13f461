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
  // Ping an idle connection every 60 s and drop it after 20 s without an answer: a soak client
  // that vanished (a killed pod) releases its Watch streams in about 80 s, not gRPC's
  // default 2 h. Watch streams are idle for long stretches, so this matters.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
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
