// `ppctl report REPORT.json [--html F] [--junit F] [--text]`: re-renders a saved
// ppsim.report/v1 JSON (from run, compare or chaos --report-json) as HTML, JUnit XML or a
// table, without re-running anything (docs/design.md §6 reports). With no output flag it prints the
// table. Exit: 0 rendered, 64 the file is missing or not a v1 report (the message names the
// field), 70 an output could not be written. The verdicts are in the outputs, not the exit
// code: re-rendering a failed run is not itself a failure.
#include <iostream>
#include <memory>
#include <string>

#include "client/chaos/compare.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/report_reader.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {

struct ReportFlags {
  std::string report;
  bool text = false;
  ReportFiles files;
};

int Report(const ReportFlags& f) {
  absl::StatusOr<chaos::SavedReport> saved = chaos::ReadReportFile(f.report);
  if (!saved.ok()) {
    std::cerr << "ppctl report: " << saved.status().message() << "\n";
    return kExitUsage;
  }
  const chaos::ScenarioResult& r = saved->result;
  if (f.text || (f.files.html.empty() && f.files.junit.empty())) {
    std::cout << "scenario " << r.scenario << " (" << r.file << ") seed " << r.seed
              << (r.target.empty() ? " embedded" : " on " + r.target) << "\n"
              << chaos::CompareTable(r);
    for (const chaos::RunResult& run : r.runs) {
      for (const chaos::CheckResult& c : run.checks) {
        if (!c.ok) {
          std::cout << "  " << (run.strategy.empty() ? "default" : run.strategy) << " " << c.name
                    << " failed: " << c.message << "\n";
        }
      }
    }
    std::cout << "replay: " << chaos::ReplayCommand(r, "", saved->context) << "\n";
  }
  return WriteReportFiles("report", r, saved->context, f.files);
}

}  // namespace

Command AddReportCommand(CLI::App* root) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* cmd = root->add_subcommand(
      "report",
      "Re-render a saved JSON report (ppsim.report/v1) as HTML, JUnit XML or a table.\n" +
          chaos::ExitCodeHelp("report"));
  cmd->add_option("report", flags->report, "JSON report file (from --report-json)")->required();
  cmd->add_flag("--text", flags->text, "Print the table (the default without --html/--junit)");
  AddReportFileOptions(cmd, &flags->files, /*with_json=*/false);
  return {cmd, [flags] { return Report(*flags); }};
}

}  // namespace ppsim::ppctl
