// `ppctl shrink TRACE --violation PPnnn`: reduce a failing run's trace to a short op sequence
// that still raises the same violation id (docs/design.md §6; client/chaos/shrink.h for the
// algorithm), print it, and write it as a scenario YAML (--out-yaml) and a GoogleTest case
// (--out-gtest), and a JUnit report of the shrunk scenario's run whose <system-out> lists the
// minimised ops (--junit).
//
// Candidates that raise a violation id the trace did not raise up to its cut are refused
// (shrink.h, fidelity): the reproducer shows the original bug, not one the shrinker made by
// deleting a bind or a kfree_skb. --allow-new-violations turns that off.
//
// The scenario written EXPECTS the id (expect: {<strategy>: {occur: [PPnnn]}}): `ppctl run` on
// it exits 0 while the model still raises the id and 1 once it does not, so it can go into
// client/scenarios/ as the bug's regression test (scenario_writer.h).
//
// Exit: 0 shrunk (1-minimal) · 2 the --max-runs budget ran out first (the result reproduces
// but may not be minimal; outputs are still written) · 4 the trace does not replay on this
// build (an op is refused before the id is raised) · 64 usage, a malformed trace, or a trace
// that never raises the id · 70 internal error. The seed goes to stderr first.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/gtest_writer.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/report.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"
#include "client/chaos/scenario_writer.h"
#include "client/chaos/shrink.h"
#include "client/chaos/trace.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {

struct ShrinkFlags {
  std::string trace;
  std::string violation;
  std::string out_yaml;
  std::string out_gtest;
  std::string junit;
  uint64_t max_runs = 2000;
  bool no_time = false;
  bool allow_new = false;
  bool quiet = false;
};

int ShrinkError(absl::string_view message, int code) {
  std::cerr << "ppctl shrink: " << message << "\n";
  return code;
}

std::string CommandLine(const ShrinkFlags& f) {
  return absl::StrCat("ppctl shrink ", f.trace, " --violation ", f.violation,
                      f.max_runs != 2000 ? absl::StrCat(" --max-runs ", f.max_runs) : "",
                      f.no_time ? " --no-time" : "",
                      f.allow_new ? " --allow-new-violations" : "");
}

int Shrink(const ShrinkFlags& f) {
  absl::StatusOr<chaos::Trace> t = chaos::ReadTraceFile(f.trace);
  if (!t.ok()) return ShrinkError(t.status().message(), kExitUsage);
  std::cerr << "seed " << t->seed << std::endl;
  std::cerr << absl::StrFormat("shrinking %s (scenario %s, strategy %s, %d ops) for %s\n",
                               f.trace, t->scenario.empty() ? "?" : t->scenario,
                               t->strategy.empty() ? "default" : t->strategy, t->ops.size(),
                               f.violation);
  chaos::ShrinkOptions options{.violation = f.violation, .max_runs = f.max_runs,
                               .simplify_time = !f.no_time,
                               .allow_new_violations = f.allow_new};
  if (!f.quiet) {
    options.progress = [](const chaos::ShrinkProgress& p) {
      std::cerr << absl::StrFormat("  %-8s runs %-6d steps %d\n", p.phase, p.runs, p.steps);
    };
  }
  absl::StatusOr<chaos::ShrinkResult> r = chaos::Shrink(*t, options);
  if (!r.ok()) {
    if (absl::IsInvalidArgument(r.status())) return ShrinkError(r.status().message(), kExitUsage);
    if (absl::IsFailedPrecondition(r.status())) {
      return ShrinkError(r.status().message(), kExitNondeterminism);
    }
    return ShrinkError(r.status().message(), kExitInternal);
  }
  if (r->outcome == chaos::ShrinkResult::Outcome::kNotRaised) {
    std::string recorded;
    for (const auto& [id, n] : t->violations) {
      absl::StrAppend(&recorded, recorded.empty() ? "" : ", ", id, " x", n);
    }
    return ShrinkError(absl::StrCat("the trace never raises ", f.violation, " (all ", r->original,
                              " ops replayed; the recorded run raised ",
                              recorded.empty() ? "nothing" : recorded, ")"),
                 kExitUsage);
  }
  const bool minimal = r->outcome == chaos::ShrinkResult::Outcome::kShrunk;
  std::printf("%s: %zu ops -> %zu (cut at the first %s: %zu) in %lu runs, %.2f s%s\n",
              f.violation.c_str(), r->original, r->steps.size(), f.violation.c_str(), r->cut,
              static_cast<unsigned long>(r->runs), r->seconds,
              minimal ? "" : " (budget ran out: not minimal)");
  {
    std::string ids;
    for (const std::string& id : r->original_ids) absl::StrAppend(&ids, ids.empty() ? "" : ",", id);
    std::printf("the trace raised %s up to the cut; %lu candidates %s\n", ids.c_str(),
                static_cast<unsigned long>(r->rejected_new),
                f.allow_new ? "raised other ids (allowed: --allow-new-violations)"
                            : "refused for raising other ids");
  }
  for (size_t i = 0; i < r->steps.size(); ++i) {
    const chaos::ShrinkStep& s = r->steps[i];
    std::printf("  %-70s%s   # trace op %zu\n", s.line.c_str(),
                s.as.empty() ? "" : absl::StrCat("  as ", s.as).c_str(), r->kept[i]);
  }
  const chaos::Scenario scenario = chaos::ShrunkScenario(*t, r->steps, f.violation, f.trace);
  const std::vector<std::string> comment = {
      absl::StrCat("Generated by: ", CommandLine(f)),
      absl::StrCat("seed ", t->seed, ", scenario ", t->scenario.empty() ? "?" : t->scenario,
                   ", strategy ", t->strategy.empty() ? "default" : t->strategy, ": ",
                   r->steps.size(), " of ", r->original, " ops still raise ", f.violation,
                   minimal ? "" : " (not minimal: the budget ran out)"),
      absl::StrCat("This scenario passes while ", f.violation,
                   " is raised (expect occur) and fails once it is not."),
  };
  const std::string yaml = chaos::ScenarioToYaml(scenario, comment);
  // What is written must load back: a scenario error here is this tool's bug.
  absl::StatusOr<chaos::Scenario> back =
      chaos::LoadScenarioText(yaml, f.out_yaml.empty() ? "shrunk.yaml" : f.out_yaml);
  if (!back.ok()) {
    return ShrinkError(absl::StrCat("the shrunk scenario does not load: ", back.status().message()),
                 kExitInternal);
  }
  if (!f.out_yaml.empty()) {
    if (int rc = WriteTextFile("shrink", f.out_yaml, yaml); rc != 0) return rc;
    std::printf("scenario written to %s (ppctl run %s)\n", f.out_yaml.c_str(), f.out_yaml.c_str());
  }
  if (!f.out_gtest.empty()) {
    const std::string text = chaos::GtestCaseText(yaml, f.violation, comment, scenario.name);
    if (int rc = WriteTextFile("shrink", f.out_gtest, text); rc != 0) return rc;
    std::printf("GoogleTest case written to %s\n", f.out_gtest.c_str());
  }
  if (!f.junit.empty()) {
    // The shrunk scenario's own run (embedded, as `ppctl run` of --out-yaml would do it), so
    // CI shows its verdict, the violations' first ops, and the minimised ops to read.
    std::unique_ptr<chaos::LabTarget> target = chaos::EmbeddedTarget();
    absl::StatusOr<chaos::ScenarioResult> run =
        chaos::RunScenario(*back, *target, {.record_trace = true});
    if (!run.ok()) {
      return ShrinkError(absl::StrCat("the shrunk scenario does not run: ", run.status().message()),
                   kExitInternal);
    }
    for (const chaos::ShrinkStep& s : r->steps) {
      run->minimized_ops.push_back(s.as.empty() ? s.line : absl::StrCat(s.line, "  # as ", s.as));
    }
    if (int rc = WriteTextFile("shrink", f.junit, chaos::ReportJunit(*run)); rc != 0) return rc;
    std::printf("JUnit report of the shrunk scenario's run (%s) written to %s\n",
                chaos::VerdictName(run->runs.empty() ? chaos::Verdict::kUnknown
                                                     : run->runs[0].verdict),
                f.junit.c_str());
  }
  return minimal ? 0 : kExitUnknown;
}

}  // namespace

Command AddShrinkCommand(CLI::App* root) {
  auto flags = std::make_shared<ShrinkFlags>();
  CLI::App* cmd = root->add_subcommand(
      "shrink",
      "Reduce a trace (ppsim.trace/v1) to a short op sequence that still raises a violation\n"
      "id on a fresh embedded lab, and write it as a scenario (which expects the id: it passes\n"
      "while the bug reproduces) and a GoogleTest case.\n" +
          chaos::ExitCodeHelp("shrink"));
  cmd->add_option("trace", flags->trace, "Trace file (from `run --trace` or `chaos --trace`)")
      ->required();
  cmd->add_option("--violation", flags->violation, "The id to keep raising (PP001..PP018)")
      ->required();
  CLI::Option* out_yaml =
      cmd->add_option("--out-yaml", flags->out_yaml, "Write the shrunk scenario here");
  cmd->add_option("--out-gtest", flags->out_gtest, "Write a GoogleTest case here");
  cmd->add_option("--max-runs", flags->max_runs, "Candidate runs at most")->capture_default_str();
  cmd->add_option("--junit", flags->junit,
                  "Run the shrunk scenario and write a JUnit XML report of it here; its\n"
                  "<system-out> lists the minimised ops (the replay command runs --out-yaml)")
      ->needs(out_yaml);
  cmd->add_flag("--no-time", flags->no_time, "Do not try halving advance_time values");
  cmd->add_flag("--allow-new-violations", flags->allow_new,
                "Accept candidates raising violation ids the trace did not raise up to the\n"
                "first target id (by default refused: they are not the original bug)");
  cmd->add_flag("--quiet", flags->quiet, "No progress lines");
  return {cmd, [flags] { return Shrink(*flags); }};
}

}  // namespace ppsim::ppctl
