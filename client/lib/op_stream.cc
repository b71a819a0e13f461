#include "client/lib/op_stream.h"

#include "absl/strings/str_cat.h"
#include "client/lib/status.h"

namespace ppsim::client {

OpStream::OpStream(v1::OpsService::Stub* stub) : rw_(stub->Stream(&ctx_)) {}

OpStream::~OpStream() {
  if (finished_) return;
  ctx_.TryCancel();
  (void)Finish();
}

absl::Status OpStream::Send(uint64_t lab, absl::Span<const v1::Op> ops) {
  v1::ApplyRequest req;
  req.set_lab(lab);
  req.mutable_ops()->Reserve(static_cast<int>(ops.size()));
  for (const v1::Op& op : ops) *req.add_ops() = op;
  return Send(req);
}

absl::Status OpStream::Send(const v1::ApplyRequest& request) {
  if (writes_done_) return absl::FailedPreconditionError("stream: Send after Finish");
  if (!rw_->Write(request)) {
    return absl::UnavailableError("stream: the stream is closed; Receive or Finish says why");
  }
  ++sent_;
  return absl::OkStatus();
}

absl::StatusOr<v1::ApplyResponse> OpStream::Receive() {
  if (in_flight() == 0) {
    return absl::FailedPreconditionError("stream: Receive with no batch in flight");
  }
  v1::ApplyResponse r;
  if (rw_->Read(&r)) {
    ++received_;
    return r;
  }
  // The server ended the stream before answering every batch.
  const uint64_t missing = in_flight();
  absl::Status end = End();
  if (!end.ok()) return end;
  return absl::DataLossError(
      absl::StrCat("stream: the server ended the stream with ", missing, " batches unanswered"));
}

absl::StatusOr<v1::ApplyResponse> OpStream::Roundtrip(uint64_t lab, absl::Span<const v1::Op> ops) {
  if (absl::Status s = Send(lab, ops); !s.ok()) {
    absl::Status end = Finish();
    return end.ok() ? s : end;
  }
  return Receive();
}

absl::Status OpStream::Finish() {
  if (finished_) return final_;
  if (!writes_done_) {
    writes_done_ = true;
    (void)rw_->WritesDone();
  }
  v1::ApplyResponse discard;
  while (rw_->Read(&discard)) ++received_;
  return End();
}

absl::Status OpStream::End() {
  if (finished_) return final_;
  writes_done_ = true;
  final_ = FromGrpc(rw_->Finish());
  finished_ = true;
  return final_;
}

}  // namespace ppsim::client
