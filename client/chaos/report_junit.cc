// File: client/chaos/report_junit.cc
// The Ant/Jenkins JUnit XML dialect CI systems read: failures carry the violation ids in
// their message so a CI summary shows them without opening the report.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chaos/report.h"

namespace ppsim::chaos {

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows only tab, LF and CR below 0x20.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out.push_back(ch);
    }
  }
  return out;
}

namespace {

// <system-out> of a testcase: the run's digest, then for each violation the op that first
// raised it (its op line when the run recorded its trace), so a CI log shows where to look
// without opening the report, then the minimised op sequence when the run is a shrunk
// reproducer.
std::string SystemOut(const ScenarioResult& r, const RunResult& run) {
  std::string out = absl::StrFormat("digest=0x%016x ops=%d virtual_time_ns=%d", run.digest,
                                    run.ops, run.virtual_time_ns);
  for (const ViolationSummary& v : run.violations) {
    absl::StrAppendFormat(&out, "\n%s x%d first at op %d", v.id, v.count, v.first_op);
    if (std::string line = OpLineAt(run, v.first_op); !line.empty()) {
      absl::StrAppend(&out, ": ", line);
    }
  }
  if (!r.minimized_ops.empty()) {
    absl::StrAppendFormat(&out, "\nminimized ops (%d):", r.minimized_ops.size());
    for (const std::string& op : r.minimized_ops) absl::StrAppend(&out, "\n  ", op);
  }
  return out;
}

}  // namespace

std::string ReportJunit(const ScenarioResult& r, const ReportContext& ctx) {
  int tests = 0, failures = 0;
  double time = 0;
  std::string cases;
  for (const RunResult& run : r.runs) {
    const std::string strategy = run.strategy.empty() ? "default" : run.strategy;
    time += run.host_time_s;
    for (const CheckResult& c : run.checks) {
      ++tests;
      absl::StrAppendFormat(&cases, "    <testcase classname=\"%s\" name=\"%s.%s\" time=\"%.6f\">\n",
                            XmlEscape(r.scenario), XmlEscape(strategy), XmlEscape(c.name),
                            run.host_time_s);
      if (!c.ok) {
        ++failures;
        absl::StrAppendFormat(&cases, "      <failure message=\"%s\" type=\"%s\">%s</failure>\n",
                              XmlEscape(c.message), VerdictName(run.verdict),
                              XmlEscape(absl::StrCat("replay: ",
                                                     ReplayCommand(r, run.strategy, ctx))));
      }
      absl::StrAppend(&cases, "      <system-out>", XmlEscape(SystemOut(r, run)),
                      "</system-out>\n");
      cases += "    </testcase>\n";
    }
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  absl::StrAppendFormat(&out,
                        "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
                        "time=\"%.6f\">\n",
                        XmlEscape(r.scenario), tests, failures, time);
  absl::StrAppendFormat(&out,
                        "    <properties>\n"
                        "      <property name=\"seed\" value=\"%d\"/>\n"
                        "      <property name=\"replay_command\" value=\"%s\"/>\n"
                        "    </properties>\n",
                        r.seed, XmlEscape(ReplayCommand(r, "", ctx)));
  out += cases;
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace ppsim::chaos
