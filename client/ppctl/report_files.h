// The report files a scenario command writes (docs/design.md §6: versioned JSON, JUnit XML, a
// self-contained HTML page), shared by `ppctl compare` and `ppctl report`.
#ifndef PPSIM_CLIENT_PPCTL_REPORT_FILES_H_
#define PPSIM_CLIENT_PPCTL_REPORT_FILES_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/strings/string_view.h"
#include "client/chaos/report.h"
#include "client/chaos/runner.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

struct ReportFiles {
  std::string json;   // --report-json
  std::string junit;  // --junit
  std::string html;   // --html
};

// Adds --report-json (unless `with_json` is false), --junit and --html to `cmd`.
void AddReportFileOptions(CLI::App* cmd, ReportFiles* files, bool with_json = true);

// Writes `text` to `path`. On a failure prints "ppctl COMMAND: cannot write PATH: why" and
// returns 70 (internal error); else 0. Every file a ppctl command writes goes through here.
int WriteTextFile(absl::string_view command, const std::string& path, const std::string& text);

// Writes every requested file. On a failure prints "ppctl COMMAND: cannot write PATH: why" and
// returns 70 (internal error); else 0.
int WriteReportFiles(absl::string_view command, const chaos::ScenarioResult& r,
                     const chaos::ReportContext& ctx, const ReportFiles& files);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_REPORT_FILES_H_
