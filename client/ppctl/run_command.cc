// `ppctl run SCENARIO`: load and validate a scenario file, run it once per strategy embedded
// (default) or on ppsimd (--target), print or write the reports, and exit with the verdict's
// code (client/chaos/exit_codes.h, which also writes the help's list). The seed goes to
// stderr before anything else, so that even a run that dies can be reproduced.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/report.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"
#include "client/chaos/trace.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {


struct RunFlags {
  std::string scenario;
  std::string target;  // "" = embedded
  client::Client::Options connection;  // TLS and token for --target
  double connect_timeout_s = 5;
  bool json = false;
  ReportFiles files;
  std::string trace;  // ppsim.trace/v1 per run (trace.h)
  std::vector<std::string> strategies;
};

int RunError(absl::string_view message, int code) {
  std::cerr << "ppctl run: " << message << "\n";
  return code;
}

// Transport trouble is "unreachable" (5): the verdict is unknown, not failed.
int CodeForRunError(const absl::Status& s) {
  if (absl::IsInvalidArgument(s)) return kExitUsage;
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) return kExitUnreachable;
  return kExitInternal;
}

void PrintTable(const chaos::ScenarioResult& r) {
  std::printf("scenario %s (%s)%s\n", r.scenario.c_str(), r.file.c_str(),
              r.target.empty() ? " embedded" : (" on " + r.target).c_str());
  for (const chaos::RunResult& run : r.runs) {
    std::vector<std::string> ids;
    for (const chaos::ViolationSummary& v : run.violations) {
      ids.push_back(absl::StrFormat("%s x%d @%d", v.id, v.count, v.first_op));
    }
    std::printf("  %-20s %-8s digest=0x%016lx ops=%-5lu vt=%.3fs  %s\n",
                (run.strategy.empty() ? std::string("default") : run.strategy).c_str(),
                chaos::VerdictName(run.verdict), static_cast<unsigned long>(run.digest),
                static_cast<unsigned long>(run.ops), run.virtual_time_ns / 1e9,
                ids.empty() ? "no violations" : absl::StrJoin(ids, ", ").c_str());
    for (const chaos::CheckResult& c : run.checks) {
      if (!c.ok) std::printf("    %s failed: %s\n", c.name.c_str(), c.message.c_str());
    }
  }
}

// FILE, or with several runs FILE with ".<strategy>" before its extension (t.jsonl →
// t.dma-tracking.jsonl), as `ppctl chaos --trace` names them.
std::string TracePath(const std::string& file, const std::string& strategy, bool many) {
  if (!many) return file;
  const std::string tag = strategy.empty() ? "default" : strategy;
  const size_t slash = file.find_last_of('/');
  const size_t dot = file.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return absl::StrCat(file, ".", tag);
  }
  return absl::StrCat(file.substr(0, dot), ".", tag, file.substr(dot));
}

// `--trace FILE`: each run's op log with the LabConfig it ran on (RunScenario builds it with
// LabConfigFor), for `ppctl replay` and `ppctl shrink`.
int WriteTraces(const std::string& file, const chaos::Scenario& s, const chaos::ScenarioResult& r) {
  if (file.empty()) return 0;
  for (const chaos::RunResult& run : r.runs) {
    const std::string path = TracePath(file, run.strategy, r.runs.size() > 1);
    const chaos::Trace t = chaos::TraceOf(r, run, chaos::LabConfigFor(s, run.strategy));
    if (int rc = WriteTextFile("run", path, chaos::TraceToJsonl(t)); rc != 0) return rc;
    std::cerr << "ppctl run: trace of " << (run.strategy.empty() ? "default" : run.strategy)
              << " (" << t.ops.size() << " ops) written to " << path << "\n";
  }
  return 0;
}

int Run(const RunFlags& f) {
  absl::StatusOr<chaos::Scenario> s = chaos::LoadScenarioFile(f.scenario);
  if (!s.ok()) return RunError(s.status().message(), kExitUsage);
  std::cerr << "ppctl run: seed " << s->lab.seed << "\n";
  absl::StatusOr<ScenarioTarget> target =
      OpenScenarioTarget(f.target, f.connect_timeout_s, f.connection);
  if (!target.ok()) return RunError(target.status().message(), kExitUnreachable);
  absl::StatusOr<chaos::ScenarioResult> r =
      chaos::RunScenario(*s, *target->lab_target,
                         {.strategies = f.strategies, .record_trace = !f.files.html.empty() || !f.trace.empty(),
                          .sample_inflight = !f.files.html.empty()});
  if (!r.ok()) return RunError(r.status().message(), CodeForRunError(r.status()));
  const std::string json = chaos::ReportJson(*r);
  if (f.json) {
    std::cout << json;
  } else {
    PrintTable(*r);
  }
  if (int rc = WriteReportFiles("run", *r, {}, f.files); rc != 0) return rc;
  if (int code = WriteTraces(f.trace, *s, *r); code != 0) return code;
  return chaos::ExitCodeFor(*r);
}

}  // namespace

Command AddRunCommand(CLI::App* root) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = root->add_subcommand(
      "run",
      absl::StrCat("Run a scenario file (YAML or JSON) once per strategy and check its\n"
                   "expectations. Embedded unless --target is given.\n",
                   chaos::ExitCodeHelp("run")));
  cmd->add_option("scenario", flags->scenario, "Scenario file")->required();
  cmd->add_option("--target", flags->target,
                  "ppsimd HOST:PORT; without it the scenario runs in-process");
  AddSecurityOptions(cmd, &flags->connection);
  cmd->add_option("--connect-timeout", flags->connect_timeout_s, "Seconds to wait for --target")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the JSON report (ppsim.report/v1) on stdout");
  AddReportFileOptions(cmd, &flags->files);
  cmd->add_option("--trace", flags->trace,
                  "Write each run's op log (ppsim.trace/v1) here, for replay and shrink; with "
                  "several runs FILE gets .<strategy> before its extension");
  cmd->add_option("--strategy", flags->strategies,
                  "Run only this strategy of the scenario (repeatable)");
  return {cmd, [flags] { return Run(*flags); }};
}

}  // namespace ppsim::ppctl
