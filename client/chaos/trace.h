// File: client/chaos/trace.h
// A run's op log on disk (JSON Lines: greppable and
// streamable). `ppctl chaos`/`run --trace FILE` write it, `ppctl replay` re-applies the
// concrete ops on a fresh lab and must reach the recorded digest (exit 4 if not), and
// `ppctl shrink` deletes steps from its symbolic form.
//
//   {"schema":"ppsim.trace/v1","scenario":"chaos","strategy":"legacy","seed":"42",
//    "config":{...v1.LabConfig as proto JSON...},"target":""}
//   {"i":0,"op":{...v1.Op as proto JSON...},"line":"add_device","as":"s0"}
//   {"i":1,"op":{...},"line":"bind_driver device=$s0.device strategy=legacy","as":"s1"}
//   ...
//   {"end":true,"ops":"2","digest":"0x1f2e...","violations":{"PP001":3}}
//
// 64-bit values are strings (JSON doubles lose them). Ops the lab rejected are not in the log
// (a rejected op changes nothing), so the log replays exactly.
#ifndef PPSIM_CLIENT_CHAOS_TRACE_H_
#define PPSIM_CLIENT_CHAOS_TRACE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/chaos/runner.h"
#include "ppsim/v1/types.pb.h"

namespace ppsim::chaos {

inline constexpr char kTraceSchema[] = "ppsim.trace/v1";

struct Trace {
  std::string scenario;
  std::string strategy;
  uint64_t seed = 0;
  std::string target;                      // "" = embedded
  v1::LabConfig config;                    // exactly what the lab was created with
  std::vector<TracedOp> ops;
  uint64_t digest = 0;                     // the lab's digest after the last op
  std::map<std::string, uint64_t> violations;  // counts by id at the end
};

// The trace of one run of `r` (RunOptions::record_trace must have been set).
Trace TraceOf(const ScenarioResult& r, const RunResult& run, const v1::LabConfig& config);

std::string TraceToJsonl(const Trace& t);
// INVALID_ARGUMENT naming the line number and field of the first bad line (wrong schema,
// unparsable op, missing end record, ...).
absl::StatusOr<Trace> TraceFromJsonl(absl::string_view text, absl::string_view file = "");
absl::StatusOr<Trace> ReadTraceFile(const std::string& path);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_TRACE_H_
