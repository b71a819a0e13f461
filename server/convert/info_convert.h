// sim query results -> proto, and LabConfig both ways.
#ifndef PPSIM_SERVER_CONVERT_INFO_CONVERT_H_
#define PPSIM_SERVER_CONVERT_INFO_CONVERT_H_

#include "absl/status/statusor.h"
#include "ppsim/v1/types.pb.h"
#include "server/sim/lab.h"

namespace ppsim::convert {

// Omitted fields keep LabConfig's defaults; bad values are INVALID_ARGUMENT naming the field.
absl::StatusOr<sim::LabConfig> LabConfigFromProto(const v1::LabConfig& in);
v1::LabConfig LabConfigToProto(const sim::LabConfig& in);

void PoolInfoToProto(const sim::PoolInfo& in, v1::PoolInfo* out);
void PageInfoToProto(const sim::PageInfo& in, v1::PageInfo* out);
void ViolationToProto(const sim::Violation& in, v1::Violation* out);
void EventToProto(uint64_t lab, const sim::Event& in, v1::Event* out);
void PageEventToProto(const sim::PageEvent& in, v1::PageEvent* out);

}  // namespace ppsim::convert

#endif  // PPSIM_SERVER_CONVERT_INFO_CONVERT_H_
