// `ppctl compare SCENARIO --strategies a,b,...`: one seeded workload (the scenario's steps,
// chaos block and liveness phase; one seed for all) under each teardown strategy, and a table
// of verdicts, violations and costs (docs/design.md §6; client/chaos/compare.h). The seed goes to
// stderr first. Exit codes as for `ppctl run` (client/chaos/exit_codes.h); an unknown strategy
// is a usage error that names the valid ones.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "client/chaos/compare.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/report.h"
#include "client/chaos/scenario_loader.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {


struct CompareFlags {
  std::string scenario;
  std::vector<std::string> strategies = chaos::KnownStrategies();
  std::optional<uint64_t> seed;
  std::optional<uint64_t> ops;
  std::string target;  // "" = embedded
  client::Client::Options connection;  // TLS and token for --target
  double connect_timeout_s = 5;
  bool json = false;
  ReportFiles files;
};

int CompareError(absl::string_view message, int code) {
  std::cerr << "ppctl compare: " << message << "\n";
  return code;
}

int Compare(const CompareFlags& f) {
  if (absl::Status st = chaos::CheckStrategies(f.strategies); !st.ok()) {
    return CompareError(st.message(), kExitUsage);
  }
  absl::StatusOr<chaos::Scenario> s = chaos::LoadScenarioFile(f.scenario);
  if (!s.ok()) return CompareError(s.status().message(), kExitUsage);
  std::cerr << "ppctl compare: seed " << f.seed.value_or(s->lab.seed) << "\n";
  absl::StatusOr<ScenarioTarget> target =
      OpenScenarioTarget(f.target, f.connect_timeout_s, f.connection);
  if (!target.ok()) return CompareError(target.status().message(), kExitUnreachable);
  absl::StatusOr<chaos::ScenarioResult> r = chaos::Compare(
      *s, *target->lab_target,
      {.strategies = f.strategies, .seed = f.seed, .ops = f.ops,
       .sample_inflight = !f.files.html.empty(),
       .record_trace = !f.files.html.empty() || !f.files.junit.empty()});
  if (!r.ok()) {
    const absl::Status& st = r.status();
    const int code = absl::IsInvalidArgument(st) ? kExitUsage
                     : absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st)
                         ? kExitUnreachable
                         : kExitInternal;
    return CompareError(st.message(), code);
  }
  // The seed every run used, so that the replay command reproduces it even when the
  // scenario file's seed changes.
  const chaos::ReportContext ctx{.command = "compare", .seed = f.seed.value_or(s->lab.seed),
                                 .ops = f.ops};
  if (f.json) {
    std::cout << chaos::ReportJson(*r, ctx);
  } else {
    std::cout << "scenario " << r->scenario << " (" << r->file << ")"
              << (r->target.empty() ? " embedded" : " on " + r->target) << "\n"
              << chaos::CompareTable(*r);
    for (const chaos::RunResult& run : r->runs) {
      for (const chaos::CheckResult& c : run.checks) {
        if (!c.ok) {
          std::cout << "  " << run.strategy << " " << c.name << " failed: " << c.message << "\n";
        }
      }
    }
  }
  if (int rc = WriteReportFiles("compare", *r, ctx, f.files); rc != 0) return rc;
  return chaos::ExitCodeFor(*r);
}

}  // namespace

Command AddCompareCommand(CLI::App* root) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* cmd = root->add_subcommand(
      "compare",
      "Run one seeded workload (a scenario's steps and chaos block) under several teardown\n"
      "strategies and tabulate verdict, violations, drain time, longest lock hold, removal\n"
      "latency, memory overhead, host time and digest. Embedded unless --target is given.\n" +
          chaos::ExitCodeHelp("compare"));
  cmd->add_option("scenario", flags->scenario, "Scenario file (YAML or JSON)")->required();
  cmd->add_option("--strategies", flags->strategies,
                  "Comma-separated teardown strategies, in table order (default: all of " +
                      absl::StrJoin(chaos::KnownStrategies(), ",") + ")")
      ->delimiter(',');
  cmd->add_option("--seed", flags->seed, "Seed for every run (default: the scenario's lab.seed)");
  cmd->add_option("--ops", flags->ops, "Chaos ops per run (default: the scenario's chaos.ops)");
  cmd->add_option("--target", flags->target,
                  "ppsimd HOST:PORT; without it the runs are in-process");
  AddSecurityOptions(cmd, &flags->connection);
  cmd->add_option("--connect-timeout", flags->connect_timeout_s, "Seconds to wait for --target")
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the JSON report (ppsim.report/v1) on stdout");
  AddReportFileOptions(cmd, &flags->files);
  return {cmd, [flags] { return Compare(*flags); }};
}

}  // namespace ppsim::ppctl
