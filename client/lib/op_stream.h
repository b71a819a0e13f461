// File: client/lib/op_stream.h
// A session on OpsService.Stream: batches go out, one ApplyResponse per batch comes back in
// order. Sending ahead of receiving pipelines batches (high op rates, docs/design.md §4).
//
//   absl::StatusOr<std::unique_ptr<OpStream>> s = client.OpenStream();
//   for (const auto& batch : batches) (*s)->Send(lab, batch);   // check each Status
//   for (size_t i = 0; i < batches.size(); ++i) {
//     absl::StatusOr<v1::ApplyResponse> r = (*s)->Receive();
//     ...
//   }
//   absl::Status end = (*s)->Finish();
//
// Threads: Send and Receive may run on two threads at once (one sender, one receiver);
// Finish and the destructor must not overlap them.
#ifndef PPSIM_CLIENT_LIB_OP_STREAM_H_
#define PPSIM_CLIENT_LIB_OP_STREAM_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ppsim/v1/service.grpc.pb.h"

namespace ppsim::client {

class OpStream {
 public:
  // Starts the call on `stub` (Client::OpenStream is the usual way in).
  explicit OpStream(v1::OpsService::Stub* stub);
  OpStream(const OpStream&) = delete;
  OpStream& operator=(const OpStream&) = delete;
  // Cancels an unfinished stream and discards responses not received.
  ~OpStream();

  // Queues one batch. UNAVAILABLE once the stream is broken; Receive or Finish then gives
  // the server's reason. A request with a request_id can be sent again on a new stream when
  // its answer was lost (Client::Apply says how).
  absl::Status Send(uint64_t lab, absl::Span<const v1::Op> ops);
  absl::Status Send(const v1::ApplyRequest& request);

  // The response to the oldest batch not yet received. FAILED_PRECONDITION when no batch is
  // in flight (it would wait forever); the server's status when the stream ended early.
  absl::StatusOr<v1::ApplyResponse> Receive();

  // Send then Receive: one batch, synchronously.
  absl::StatusOr<v1::ApplyResponse> Roundtrip(uint64_t lab, absl::Span<const v1::Op> ops);

  // Batches sent whose responses were not received yet.
  uint64_t in_flight() const { return sent_.load() - received_.load(); }

  // Half-closes, discards responses not received, and returns the call's final status.
  // Idempotent.
  absl::Status Finish();

 private:
  // Reads nothing more; records the final status once.
  absl::Status End();

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ApplyRequest, v1::ApplyResponse>> rw_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  bool writes_done_ = false;
  bool finished_ = false;
  absl::Status final_;
};

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_OP_STREAM_H_
