// File: client/lib/op_line.h
// Ops as text, one per line: what `ppctl apply` reads and prints. The words are the proto's:
// the first names the op (a field of Op's `op` oneof in ops.proto), `key=value` sets a field
// of that op's message by its proto name, `@kind[:cpu]` sets the execution context:
//
//   page_pool_alloc_pages pool=1 count=4 @softirq:0
//   page_pool_put_page pool=1 page=0x10/2 allow_direct=true @softirq:0
//   skb_build frags=0x10/2,0x11/2+2048:1024 recycle       # a bare key sets a bool to true
//   stack_hold skb=3 holder="defrag"
//   advance_time ns=30s                                    # *ns fields take durations too
//   {"ctx": {"kind": "CTX_SOFTIRQ"}, "pagePoolAllocPages": {"pool": 1, "count": 4}}
//
// Values: integers in decimal or 0x hex; bools true/false/1/0/yes/no/on/off; enums by name
// with or without their prefix (DMA_FROM_DEVICE, from_device); strings bare or "quoted";
// a page handle is pfn/generation (0x10/2, as the model prints it); a frag is
// handle[+offset][:len]; repeated fields take a comma-separated list or repeat the key.
// Message fields can also be set field by field (expect.pfn=0x10). A line that starts with
// '{' is an Op in proto JSON (exported traces are such lines). Unset fields keep the model's
// defaults. The sim's own OpToString output parses back to the same op.
//
// Errors are INVALID_ARGUMENT naming the token, counted from 1 with the op name as token 1:
//   token 3 "cout=4": page_pool_alloc_pages has no field cout (fields: pool, count)
#ifndef PPSIM_CLIENT_LIB_OP_LINE_H_
#define PPSIM_CLIENT_LIB_OP_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ppsim/v1/ops.pb.h"

namespace ppsim::client {

// One op from one line (text or JSON). A '#' that starts a word begins a comment.
absl::StatusOr<v1::Op> ParseOpLine(absl::string_view line);

// The words of an op line: whitespace separates them except inside "double quotes" (where a
// backslash escapes the next character); a word that starts with '#' ends the line.
// INVALID_ARGUMENT for a quote that is not closed.
absl::StatusOr<std::vector<std::string>> SplitOpWords(absl::string_view line);

// One op from words already split, e.g. by a shell: no quoting or comments are interpreted
// across words, and errors count tokens from `first_token`.
absl::StatusOr<v1::Op> ParseOpWords(absl::Span<const std::string> words, int first_token = 1);

// Every op of a text, one per line; blank lines and # comments are skipped. Errors are
// prefixed "line N: ".
absl::StatusOr<std::vector<v1::Op>> ParseOpLines(absl::string_view text);

// Ops from command-line arguments (`ppctl apply --lab 1 OP...`). A word that names an op, or
// that is neither key=value nor @context nor a field of the op before it, starts a new op; a
// lone ";" ends one. An argument with whitespace in it, or a JSON object, is a whole line (or
// several). Tokens are counted over all the arguments: `ppctl apply --lab 1
// page_pool_alloc_pages pool=1 cout=4` fails with "token 3 \"cout=4\": ...".
absl::StatusOr<std::vector<v1::Op>> ParseOpArgs(absl::Span<const std::string> args);

// True when `word` names an op (a field of Op's `op` oneof).
bool IsOpName(absl::string_view word);

// The value of enum `e` that `text` names as op lines accept it: the full name or the name
// without the enum's common prefix (DMA_FROM_DEVICE, from_device, from-device), in any case,
// or the number. nullptr when none.
const google::protobuf::EnumValueDescriptor* FindEnumValue(
    const google::protobuf::EnumDescriptor* e, absl::string_view text);

// The inverse of ParseOpLine: the op name, every field that is set, and the context unless
// it is process:0.
std::string FormatOpLine(const v1::Op& op);

// What an op produced, in the same syntax ("pages=0x10/2,0x11/2 dma=0xfffc0000,..."); empty
// when it produced nothing.
std::string FormatOpResult(const v1::OpResult& r);

// Every op and its fields with their types, one op per line, in ops.proto order.
std::string OpCatalog();

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_OP_LINE_H_
