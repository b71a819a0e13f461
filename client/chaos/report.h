// File: client/chaos/report.h
// Reports of a scenario run (docs/design.md §6):
//   JSON, versioned "ppsim.report/v1" (report_reader.h parses it back for `ppctl report`):
//     {"schema": "ppsim.report/v1", "scenario", "file", "seed", "target", "replay",
//      "reproduce": {"command": "run"|"compare"|..., "seed"?, "ops"?},
//      "runs": [{"strategy", "verdict", "violations": [{"id", "severity", "count",
//                "first_op", "first_op_line" (when the trace was recorded)}],
//                "checks": [{"name", "ok", "message"}], "digest" (0x hex
//                string: 64-bit values do not survive JSON doubles), "ops",
//                "virtual_time_ns", "host_time_s", "seed", "rejected_ops", "replay",
//                "costs": {"drain_time_ns", "max_lock_hold_ns", "removal_latency_ns",
//                          "memory_overhead_bytes", "strategy_host_ns"},
//                "inflight": [[op, time_ns, pages], ...],
//                "events": [{"id", "op", "time_ns"}, ...]}]}
//     Fields after "host_time_s" were added within v1: a reader treats them as optional.
//   JUnit XML: one <testsuite> per scenario, one <testcase> per strategy and check
//     ("legacy.expect", "legacy.liveness"), <properties> seed and replay_command,
//     <system-out> the digest and the op that first raised each violation.
//   HTML: one self-contained page (inline CSS and SVG, no script, no external URL): per run a
//     summary, the violations, the costs, a plot of inflight pages over virtual time with every
//     violation marked at its time, and the replay command.
#ifndef PPSIM_CLIENT_CHAOS_REPORT_H_
#define PPSIM_CLIENT_CHAOS_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "client/chaos/runner.h"

namespace ppsim::chaos {

inline constexpr char kReportSchema[] = "ppsim.report/v1";

// Which ppctl command reproduces the runs: `run` replays a scenario as written; `compare`
// (and the generators) pass the workload's seed and size on the command line.
struct ReportContext {
  std::string command = "run";
  std::optional<uint64_t> seed;  // --seed
  std::optional<uint64_t> ops;   // --ops
};

// The command that reproduces the run of `strategy` ("" = every run):
//   ppctl run FILE [--strategy S] [--target T]
//   ppctl compare FILE --strategies S[,S...] [--seed N] [--ops N] [--target T]
std::string ReplayCommand(const ScenarioResult& r, absl::string_view strategy = "",
                          const ReportContext& ctx = {});

std::string ReportJson(const ScenarioResult& r, const ReportContext& ctx = {});  // ends "\n"
std::string ReportJunit(const ScenarioResult& r, const ReportContext& ctx = {});  // XML doc
std::string ReportHtml(const ScenarioResult& r, const ReportContext& ctx = {});   // HTML doc

// `text` with & < > " ' replaced by entities and characters XML 1.0 forbids dropped. Also
// safe for HTML text and attribute values.
std::string XmlEscape(absl::string_view text);

// The op line of trace index `op` when the run recorded its trace, else "".
std::string OpLineAt(const RunResult& run, uint64_t op);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_REPORT_H_
