// A lab's trace as JSON lines (docs/design.md §3.1, ExportTrace/ReplayTrace): one v1.Op per line in
// protobuf's JSON mapping with the .proto field names ("page_pool_alloc_pages", not
// "pagePoolAllocPages"), so a trace reads like the ops a client sent and any protobuf JSON
// parser (ppctl, Python's json_format) reads it back.
//
//   {"ctx":{"kind":"CTX_SOFTIRQ"},"page_pool_alloc_pages":{"pool":1,"count":1,...}}
#ifndef PPSIM_SERVER_CONVERT_TRACE_JSONL_H_
#define PPSIM_SERVER_CONVERT_TRACE_JSONL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/sim/ops.h"

namespace ppsim::convert {

// One line per op, each ending in '\n' (a span, so a trace can be printed a slice at a time).
std::string TraceToJsonl(absl::Span<const sim::Op> ops);

// INVALID_ARGUMENT naming the 1-based line: "jsonl: line 3: set_fault.interval: ...".
// Blank lines (and a trailing newline) are skipped.
absl::StatusOr<std::vector<sim::Op>> TraceFromJsonl(absl::string_view jsonl);

}  // namespace ppsim::convert

#endif  // PPSIM_SERVER_CONVERT_TRACE_JSONL_H_
