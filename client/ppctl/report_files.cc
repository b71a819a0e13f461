#include "client/ppctl/report_files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace ppsim::ppctl {

void AddReportFileOptions(CLI::App* cmd, ReportFiles* files, bool with_json) {
  if (with_json) {
    cmd->add_option("--report-json", files->json,
                    "Write the JSON report (ppsim.report/v1) to this file");
  }
  cmd->add_option("--junit", files->junit, "Write a JUnit XML report to this file");
  cmd->add_option("--html", files->html,
                  "Write a self-contained HTML report (inflight plot, violations marked) to "
                  "this file");
}

int WriteTextFile(absl::string_view command, const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (f) return 0;
  std::cerr << "ppctl " << command << ": cannot write " << path << ": " << std::strerror(errno)
            << "\n";
  return kExitInternal;
}

int WriteReportFiles(absl::string_view command, const chaos::ScenarioResult& r,
                     const chaos::ReportContext& ctx, const ReportFiles& files) {
  const struct {
    const std::string& path;
    std::string (*render)(const chaos::ScenarioResult&, const chaos::ReportContext&);
  } outputs[] = {{files.json, chaos::ReportJson},
                 {files.junit, chaos::ReportJunit},
                 {files.html, chaos::ReportHtml}};
  for (const auto& out : outputs) {
    if (out.path.empty()) continue;
    if (int rc = WriteTextFile(command, out.path, out.render(r, ctx)); rc != 0) return rc;
  }
  return 0;
}

}  // namespace ppsim::ppctl
