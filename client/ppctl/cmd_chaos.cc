// `ppctl chaos`: seeded random op sequences (client/chaos/generator.h) against an embedded lab
// or ppsimd, one run per strategy on the same seed, with reports and docs/design.md §6's exit
// codes. The seed goes to stderr first ("seed N"), given or drawn, so every run reproduces:
// `ppctl chaos --seed N` with the same flags gives the same ops and digest.
//
// Without --scenario the expectation is: crash- and corruption-severity violations fail the
// run (exit 1); leaks and warnings are reported but pass (--fail-on changes the set).
// --workers N runs N clients at once, worker i with seed+i on its own lab; with --shared-lab
// they all drive one lab, and the lab's digest then depends on how the workers interleaved:
// determinism is per lab run alone, not per worker, so a shared-lab run does not replay.
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/chaos/chaos_cli.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/report.h"
#include "client/chaos/trace.h"
#include "client/ppctl/chaos_flags.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {


struct ChaosFlags {
  chaos::ChaosCliFlags run;
  std::string trace;
  bool json = false;
  ReportFiles files;
};

int ChaosError(absl::string_view message, int code) {
  std::cerr << "ppctl chaos: " << message << "\n";
  return code;
}

void PrintRuns(const chaos::ChaosOutcome& o) {
  std::printf("chaos %s, seed %lu%s\n", o.result.scenario.c_str(),
              static_cast<unsigned long>(o.seed),
              o.result.target.empty() ? " embedded" : (" on " + o.result.target).c_str());
  for (const chaos::RunResult& run : o.result.runs) {
    std::vector<std::string> ids;
    for (const chaos::ViolationSummary& v : run.violations) {
      ids.push_back(absl::StrFormat("%s(%s) x%d @%d", v.id, v.severity, v.count, v.first_op));
    }
    std::printf("  %-24s %-8s seed=%-6lu digest=0x%016lx ops=%-7lu vt=%.3fs %.2fs  %s\n",
                (run.strategy.empty() ? std::string("default") : run.strategy).c_str(),
                chaos::VerdictName(run.verdict), static_cast<unsigned long>(run.seed),
                static_cast<unsigned long>(run.digest), static_cast<unsigned long>(run.ops),
                run.virtual_time_ns / 1e9, run.host_time_s,
                ids.empty() ? "no violations" : absl::StrJoin(ids, ", ").c_str());
    for (const chaos::CheckResult& c : run.checks) {
      if (!c.ok) std::printf("    %s failed: %s\n", c.name.c_str(), c.message.c_str());
    }
    if (run.rejected_ops > 0) {
      std::printf("    %lu generated ops were refused (a generator bug), first: %s\n",
                  static_cast<unsigned long>(run.rejected_ops),
                  run.rejections.empty() ? "?" : run.rejections.front().c_str());
    }
  }
}

// FILE, or FILE with ".<tag>" before its extension.
std::string Tagged(const std::string& file, const std::string& tag) {
  if (tag.empty()) return file;
  const size_t slash = file.find_last_of('/');
  const size_t dot = file.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return absl::StrCat(file, ".", tag);
  }
  return absl::StrCat(file.substr(0, dot), ".", tag, file.substr(dot));
}

int Run(ChaosFlags& f) {
  if (!f.run.seed) f.run.seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  std::cerr << "seed " << *f.run.seed << std::endl;
  absl::StatusOr<chaos::ChaosPlan> plan = chaos::PlanChaos(f.run);
  if (!plan.ok()) return ChaosError(plan.status().message(), kExitUsage);
  plan->record_trace = !f.trace.empty();
  plan->sample_inflight = !f.files.html.empty();  // the plot; ~500 pool queries per run remotely
  std::unique_ptr<client::Client> client;
  if (!f.run.target.empty()) {
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(f.run.target, absl::Seconds(f.run.connect_timeout_s),
                                f.run.connection);
    if (!c.ok()) return ChaosError(c.status().message(), kExitUnreachable);
    client = *std::move(c);
  }
  absl::StatusOr<chaos::ChaosOutcome> o = chaos::RunChaos(*plan, client.get());
  if (!o.ok()) {
    const absl::Status& s = o.status();
    const int code = absl::IsInvalidArgument(s) ? kExitUsage
                     : (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) ? kExitUnreachable
                                                                               : kExitInternal;
    return ChaosError(s.message(), code);
  }
  const chaos::ReportContext ctx{.command = "chaos", .seed = *f.run.seed, .ops = f.run.ops};
  const std::string json = chaos::ReportJson(o->result, ctx);
  if (f.json) {
    std::cout << json;
  } else {
    PrintRuns(*o);
  }
  if (int rc = WriteReportFiles("chaos", o->result, ctx, f.files); rc != 0) return rc;
  if (!f.trace.empty()) {
    const bool many = o->result.runs.size() > 1;
    for (size_t i = 0; i < o->result.runs.size(); ++i) {
      const chaos::RunResult& run = o->result.runs[i];
      const std::string path = many ? Tagged(f.trace, o->tags[i]) : f.trace;
      const chaos::Trace t = chaos::TraceOf(o->result, run, o->configs[i]);
      if (int rc = WriteTextFile("chaos", path, chaos::TraceToJsonl(t)); rc != 0) return rc;
    }
  }
  uint64_t rejected = 0;
  for (const chaos::RunResult& run : o->result.runs) rejected += run.rejected_ops;
  const int code = chaos::ExitCodeFor(o->result);
  if (rejected > 0 && code == 0) {
    return ChaosError(absl::StrCat(rejected, " generated ops were refused by the lab: a generator bug"),
                 kExitInternal);
  }
  return code;
}

}  // namespace

Command AddChaosCommand(CLI::App* root) {
  auto flags = std::make_shared<ChaosFlags>();
  CLI::App* cmd = root->add_subcommand(
      "chaos",
      "Generate seeded random, valid op sequences and run them on a lab, once per strategy.\n"
      "Prints `seed N` on stderr first; the same seed and flags give the same ops and digest.\n"
      "Without --scenario, crash and corruption violations fail the run; leaks and warnings\n"
      "are reported (--fail-on).\n" +
          chaos::ExitCodeHelp("chaos"));
  chaos::ChaosCliFlags& r = flags->run;
  AddChaosWorkloadFlags(cmd, &r);
  cmd->add_option("--ops", r.ops, "Chaos ops per run (default 10000, or the scenario's)");
  cmd->add_option("--duration", r.duration,
                  "Virtual-time bound of the chaos phase, e.g. 5s (with --ops: whichever first)");
  cmd->add_option("--workers", r.workers, "Concurrent clients, worker i on seed+i")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--shared-lab", r.shared_lab,
                "All workers on one lab (its digest then depends on the interleaving)");
  cmd->add_flag("--help-kinds", r.list_kinds, "List the op kinds --weights takes and exit");
  cmd->add_option("--trace", flags->trace,
                  "Write each run's op log (ppsim.trace/v1) here; with several runs FILE gets "
                  ".<strategy> and/or .w<i> before its extension");
  cmd->add_flag("--json", flags->json, "Print the JSON report (ppsim.report/v1) on stdout");
  AddReportFileOptions(cmd, &flags->files);
  return {cmd, [flags] {
            if (flags->run.list_kinds) {
              std::cout << chaos::ChaosKindHelp();
              return 0;
            }
            return Run(*flags);
          }};
}

}  // namespace ppsim::ppctl
