// libFuzzer target: bytes → both trace parsers.
//   - chaos::TraceFromJsonl: the ppsim.trace/v1 file `ppctl replay` and `ppctl shrink` read
//     (client/chaos/trace.h: a header record, op records, an end record).
//   - convert::TraceFromJsonl: the JSON lines the daemon's ReplayTrace RPC accepts, one v1.Op
//     per line (server/convert/trace_jsonl.h), reachable by any client.
// Both must return a value or INVALID_ARGUMENT, never crash, throw, leak or hit undefined
// behaviour. A trace the chaos parser accepts must print and parse back to the same ops, and
// the daemon's parser must accept what its own printer writes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "client/chaos/trace.h"
#include "server/convert/trace_jsonl.h"

namespace {

[[noreturn]] void Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::abort();
}

void CheckError(const char* what, const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInvalidArgument) Fail(what, s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<ppsim::chaos::Trace> t = ppsim::chaos::TraceFromJsonl(text, "fuzz.jsonl");
  if (!t.ok()) {
    CheckError("chaos::TraceFromJsonl", t.status());
  } else {
    absl::StatusOr<ppsim::chaos::Trace> again =
        ppsim::chaos::TraceFromJsonl(ppsim::chaos::TraceToJsonl(*t), "again.jsonl");
    if (!again.ok()) Fail("chaos trace does not re-read its own output", again.status());
    if (again->ops.size() != t->ops.size() || again->digest != t->digest) {
      std::fprintf(stderr, "chaos trace round trip: %zu ops -> %zu\n", t->ops.size(),
                   again->ops.size());
      std::abort();
    }
  }

  absl::StatusOr<std::vector<ppsim::sim::Op>> ops = ppsim::convert::TraceFromJsonl(text);
  if (!ops.ok()) {
    CheckError("convert::TraceFromJsonl", ops.status());
  } else {
    absl::StatusOr<std::vector<ppsim::sim::Op>> again =
        ppsim::convert::TraceFromJsonl(ppsim::convert::TraceToJsonl(*ops));
    if (!again.ok()) Fail("daemon trace does not re-read its own output", again.status());
    if (again->size() != ops->size()) {
      std::fprintf(stderr, "daemon trace round trip: %zu ops -> %zu\n", ops->size(),
                   again->size());
      std::abort();
    }
  }
  return 0;
}
