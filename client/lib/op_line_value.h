// Values of op lines (op_line.h), both ways: text -> one proto field, one proto field -> text.
// Internal to op_line*.cc.
#ifndef PPSIM_CLIENT_LIB_OP_LINE_VALUE_H_
#define PPSIM_CLIENT_LIB_OP_LINE_VALUE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace ppsim::client::op_line {

// Sets (or, for a repeated field, appends to) `fd` of `msg` from `text`. A repeated field
// takes a comma-separated list; a "quoted" string is unescaped. The error names the field
// and the value ("count: \"x\" is not a uint32").
absl::Status SetField(google::protobuf::Message* msg, const google::protobuf::FieldDescriptor* fd,
                      absl::string_view text);

// The text SetField reads back to the same value (the whole list for a repeated field).
std::string FieldText(const google::protobuf::Message& msg,
                      const google::protobuf::FieldDescriptor* fd);

// "uint32", "page" (pfn/generation), "frag", "DMA_BIDIRECTIONAL|..." for OpCatalog.
std::string FieldTypeName(const google::protobuf::FieldDescriptor* fd);

}  // namespace ppsim::client::op_line

#endif  // PPSIM_CLIENT_LIB_OP_LINE_VALUE_H_
