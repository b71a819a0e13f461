#include "server/convert/trace_jsonl.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "server/convert/op_convert.h"

namespace ppsim::convert {

namespace pbu = google::protobuf::util;

std::string TraceToJsonl(absl::Span<const sim::Op> ops) {
  pbu::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // add_whitespace stays off: one line per op
  std::string out;
  std::string line;
  for (const sim::Op& op : ops) {
    line.clear();
    // Printing a well-formed message cannot fail; a failure here is a bug, so keep the line
    // count honest rather than drop the op silently.
    if (pbu::Status s = pbu::MessageToJsonString(OpToProto(op), &line, options); !s.ok()) {
      line = absl::StrCat("{\"error\":\"", s.message().ToString(), "\"}");
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<sim::Op>> TraceFromJsonl(absl::string_view jsonl) {
  std::vector<sim::Op> ops;
  pbu::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not replay as a default
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(jsonl, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    v1::Op op;
    pbu::Status s = pbu::JsonStringToMessage(
        google::protobuf::StringPiece(line.data(), line.size()), &op, options);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("jsonl: line ", line_no, ": ", s.message().ToString()));
    }
    absl::StatusOr<sim::Op> converted = OpFromProto(op);
    if (!converted.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("jsonl: line ", line_no, ": ", converted.status().message()));
    }
    ops.push_back(*std::move(converted));
  }
  return ops;
}

}  // namespace ppsim::convert
