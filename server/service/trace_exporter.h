// ExportTrace's stream (service.proto): a lab's trace as JSON lines in chunks of whole lines,
// each at most `chunk_bytes` unless one op's line alone is longer, so a trace of any length
// leaves the daemon under the message limit (issue: a 65 k-op lab's export failed at 64 MiB).
//
// The first message carries the config, the op count N and the digest after N ops, read under
// the lab's lock together; every chunk after it converts the next ops of [0, N) under the lock
// again. A lab's trace is only appended to, so those ops are the ones the digest covers even if
// the lab goes on running, or is deleted (the entry is kept alive until the stream ends).
// Only one write is in flight at a time and gRPC serialises a reactor's callbacks, so the
// exporter needs no lock of its own; memory is one chunk, not the trace.
#ifndef PPSIM_SERVER_SERVICE_TRACE_EXPORTER_H_
#define PPSIM_SERVER_SERVICE_TRACE_EXPORTER_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "server/service/lab_registry.h"
#include "server/service/rpc_scope.h"

namespace ppsim::service {

class TraceExporter final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // With a non-OK `error` (bad request, unknown or someone else's lab) the call ends with it
  // and `entry` is not read.
  TraceExporter(std::shared_ptr<LabEntry> entry, size_t chunk_bytes, RpcScope rpc,
                const grpc::Status& error);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  // Writes the next chunk, or finishes OK when the first message has gone and ops_ are sent.
  void WriteNext();
  void FinishWith(const grpc::Status& s);

  const std::shared_ptr<LabEntry> entry_;
  const size_t chunk_bytes_;
  const RpcScope rpc_;
  uint64_t next_ = 0;   // the first op not yet sent
  uint64_t ops_ = 0;    // the ops the stream carries (the trace's length when it began)
  bool first_ = true;   // the first message (config, digest, ops) is not written yet
  grpc::ByteBuffer out_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_TRACE_EXPORTER_H_
