// ExportTrace is a stream (service.proto): the tests read it whole, as a client does.
#ifndef PPSIM_TESTS_UNIT_SERVICE_READ_TRACE_H_
#define PPSIM_TESTS_UNIT_SERVICE_READ_TRACE_H_

#include <grpcpp/client_context.h>

#include "ppsim/v1/service.grpc.pb.h"

namespace ppsim::testing {

// The stream's messages merged: the first's config, digest and ops, every message's lines in
// order. `chunks`, if given, counts the messages.
inline grpc::Status ReadTrace(v1::LabService::StubInterface* stub, grpc::ClientContext* ctx,
                              const v1::ExportTraceRequest& req, v1::ExportTraceResponse* out,
                              int* chunks = nullptr) {
  auto reader = stub->ExportTrace(ctx, req);
  v1::ExportTraceResponse chunk;
  int n = 0;
  while (reader->Read(&chunk)) {
    if (n++ == 0) {
      *out = chunk;
    } else {
      out->mutable_jsonl()->append(chunk.jsonl());
    }
  }
  if (chunks != nullptr) *chunks = n;
  return reader->Finish();
}

}  // namespace ppsim::testing

#endif  // PPSIM_TESTS_UNIT_SERVICE_READ_TRACE_H_
