// proto ops <-> sim ops, by name: each sim op's kName is the name of its field in Op's `op`
// oneof, and each of its Fields() is a field of that message with the same name. The walk is
// generic (protobuf reflection over the sim op's field list), so adding an op to the model and
// its message to ops.proto is all it takes; op_convert_test checks that every sim op has a
// matching message.
#ifndef PPSIM_SERVER_CONVERT_OP_CONVERT_H_
#define PPSIM_SERVER_CONVERT_OP_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "ppsim/v1/ops.pb.h"
#include "server/sim/lab.h"
#include "server/sim/ops.h"

namespace ppsim::convert {

// INVALID_ARGUMENT naming the field when the op is missing or a value does not fit.
absl::StatusOr<sim::Op> OpFromProto(const v1::Op& in);
v1::Op OpToProto(const sim::Op& in);
void OpResultToProto(const sim::OpResult& in, v1::OpResult* out);

// Every sim op whose message or fields are missing from ops.proto ("" when all match).
std::string CheckOpSchema();

}  // namespace ppsim::convert

#endif  // PPSIM_SERVER_CONVERT_OP_CONVERT_H_
