// File: client/chaos/report.h
// Reports of a scenario run (design.md §6; reference/chaos-and-testing-tools.md C3):
//   JSON, versioned "ppsim.report/v1":
//     {"schema": "ppsim.report/v1", "scenario", "file", "seed", "target", "replay",
//      "runs": [{"strategy", "verdict", "violations": [{"id", "severity", "count",
//                "first_op"}], "checks": [{"name", "ok", "message"}], "digest" (0x hex
//                string: 64-bit values do not survive JSON doubles), "ops",
//                "virtual_time_ns", "host_time_s"}]}
//   JUnit XML: one <testsuite> per scenario, one <testcase> per strategy and check
//     ("legacy.expect", "legacy.liveness"), <properties> seed and replay_command.
#ifndef PPSIM_CLIENT_CHAOS_REPORT_H_
#define PPSIM_CLIENT_CHAOS_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "client/chaos/runner.h"

namespace ppsim::chaos {

inline constexpr char kReportSchema[] = "ppsim.report/v1";

// The command that reproduces the run: ppctl run FILE [--strategy S] [--target T].
std::string ReplayCommand(const ScenarioResult& r, absl::string_view strategy = "");

std::string ReportJson(const ScenarioResult& r);   // pretty-printed, ends with a newline
std::string ReportJunit(const ScenarioResult& r);  // a complete XML document

// `text` with & < > " ' replaced by entities and characters XML 1.0 forbids dropped.
std::string XmlEscape(absl::string_view text);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_REPORT_H_
