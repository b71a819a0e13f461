#include "server/service/trace_exporter.h"

#include <string>

#include "server/store/mutex.h"
#include "absl/types/span.h"
#include "server/convert/info_convert.h"
#include "server/convert/trace_jsonl.h"
#include "server/service/raw_method.h"

namespace ppsim::service {

namespace {

// Ops converted per pass under the lab's lock: the lock is not held for a whole megabyte of
// JSON at once, so the lab's own ops wait at most this many conversions.
constexpr size_t kOpsPerPass = 256;

}  // namespace

TraceExporter::TraceExporter(std::shared_ptr<LabEntry> entry, size_t chunk_bytes, RpcScope rpc,
                             const grpc::Status& error)
    : entry_(std::move(entry)), chunk_bytes_(chunk_bytes), rpc_(rpc) {
  if (!error.ok()) {
    FinishWith(error);
    return;
  }
  WriteNext();
}

void TraceExporter::WriteNext() {
  v1::ExportTraceResponse msg;
  if (first_) {
    ppsim::MutexLock lock(&entry_->mu);
    const sim::Lab& lab = *entry_->lab;
    *msg.mutable_config() = convert::LabConfigToProto(lab.config());
    ops_ = lab.trace().size();
    msg.set_ops(ops_);
    msg.set_digest(lab.digest());
  } else if (next_ == ops_) {
    FinishWith(grpc::Status::OK);
    return;
  }
  // The first message carries lines too: a short trace is one message.
  std::string* jsonl = msg.mutable_jsonl();
  while (next_ < ops_ && jsonl->size() < chunk_bytes_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kOpsPerPass, ops_ - next_));
    std::string lines;
    {
      ppsim::MutexLock lock(&entry_->mu);
      lines = convert::TraceToJsonl(absl::MakeConstSpan(entry_->lab->trace()).subspan(next_, n));
    }
    // Line by line: a chunk ends before the line that would take it past chunk_bytes, unless
    // it is the chunk's first (one op's line is never split). Lines not taken are converted
    // again next time.
    size_t taken = 0;
    bool full = false;
    for (size_t pos = 0; pos < lines.size(); ++taken) {
      const size_t end = lines.find('\n', pos) + 1;
      if (!jsonl->empty() && jsonl->size() + (end - pos) > chunk_bytes_) {
        full = true;
        break;
      }
      jsonl->append(lines, pos, end - pos);
      pos = end;
    }
    next_ += taken;
    if (full) break;
  }
  first_ = false;
  SerializeResponse(msg, &out_);
  StartWrite(&out_);
}

void TraceExporter::OnWriteDone(bool ok) {
  if (!ok) {
    FinishWith(grpc::Status::CANCELLED);  // the client went away mid-stream
    return;
  }
  WriteNext();
}

void TraceExporter::FinishWith(const grpc::Status& s) {
  rpc_.Record(s);
  Finish(s);
}

}  // namespace ppsim::service
