// File: client/chaos/runner.h
// Runs a scenario once per strategy on a LabTarget and judges each run (design.md §6):
//   safety    an `expect` failed: an `occur` id never raised, or a forbidden id raised
//             (with no expect entry for the strategy, any violation is forbidden)
//   liveness  the liveness phase ended with a pool still holding pages (PP017)
// PP017 is judged by the liveness check only, unless an expect entry names it.
#ifndef PPSIM_CLIENT_CHAOS_RUNNER_H_
#define PPSIM_CLIENT_CHAOS_RUNNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/scenario.h"

namespace ppsim::chaos {

enum class Verdict { kPass, kSafety, kLiveness };
const char* VerdictName(Verdict v);  // pass | safety | liveness

struct ViolationSummary {
  std::string id;        // PP001
  std::string severity;  // crash | corruption | leak | warning
  uint64_t count = 0;
  uint64_t first_op = 0; // trace index of the first op that raised it
};

// One check of a run, a JUnit testcase: "expect" always, "liveness" when configured.
struct CheckResult {
  std::string name;
  bool ok = true;
  std::string message;  // why it failed; names the violation ids
};

struct RunResult {
  std::string strategy;  // "" = the lab's default (no `strategies:`)
  Verdict verdict = Verdict::kPass;
  std::vector<ViolationSummary> violations;  // by id
  std::vector<CheckResult> checks;
  uint64_t digest = 0;
  uint64_t ops = 0;
  int64_t virtual_time_ns = 0;
  double host_time_s = 0;
};

struct ScenarioResult {
  std::string scenario;
  std::string file;
  uint64_t seed = 0;
  std::string target;  // "" = embedded
  std::vector<RunResult> runs;
};

struct RunOptions {
  std::vector<std::string> strategies;  // only these runs; empty = every strategy
};

// INVALID_ARGUMENT naming file, line and step for an op the lab rejects or a $reference that
// does not resolve (a scenario error); the target's own status when it fails (UNAVAILABLE:
// unreachable). Violations are results, not errors.
absl::StatusOr<ScenarioResult> RunScenario(const Scenario& s, LabTarget& target,
                                           const RunOptions& options = {});

// design.md §6: 1 if any run broke safety, else 3 if any broke liveness, else 0.
int ExitCodeFor(const ScenarioResult& r);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_RUNNER_H_
