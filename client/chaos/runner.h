// File: client/chaos/runner.h
// Runs a scenario once per strategy on a LabTarget and judges each run (docs/design.md §6):
//   safety    an `expect` failed: an `occur` id never raised, or a forbidden id raised
//             (with no expect entry for the strategy, any violation is forbidden)
//   liveness  the liveness phase ended with a pool still holding pages (PP017)
//   unknown   a `sometimes` goal was never reached: the run did not explore what it was
//             meant to, so its pass says nothing (exit 2; reference B7)
// PP017 is judged by the liveness check only, unless an expect entry names it.
//
// Phases: `steps:` in order, then `chaos:` (generator.h: seeded, batches of kChaosBatch ops,
// ended by a heal phase), then `liveness:`. `sometimes:` goals, each checked while the run
// goes (after every teardown op and at every inflight sample) or at its end:
//   unbind_while_inflight        a driver unbind/removal left one of its pools with pages
//                                in flight
//   pool_detached_with_inflight  some pool was destroyed while pages were in flight
//   fault_fired[:SITE]           an injected fault fired (embedded targets only: the API
//                                does not expose fault counters, so remotely it is unknown)
//   violation:PPnnn              that violation was raised
#ifndef PPSIM_CLIENT_CHAOS_RUNNER_H_
#define PPSIM_CLIENT_CHAOS_RUNNER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/scenario.h"

namespace ppsim::chaos {

enum class Verdict { kPass, kSafety, kLiveness, kUnknown };
const char* VerdictName(Verdict v);  // pass | safety | liveness | unknown

struct ViolationSummary {
  std::string id;        // PP001
  std::string severity;  // crash | corruption | leak | warning
  uint64_t count = 0;
  uint64_t first_op = 0; // trace index of the first op that raised it
};

// One check of a run, a JUnit testcase: "expect" always, "liveness" and "sometimes" when
// configured.
struct CheckResult {
  std::string name;
  bool ok = true;
  std::string message;  // why it failed; names the violation ids
};

// One applied op as the run recorded it (trace.h writes these as the run's op log):
// `op` is what reached the lab, `line` the symbolic form ($NAME references unresolved) and
// `as` the name its result was bound to, so a shrinker can delete steps and re-resolve.
struct TracedOp {
  v1::Op op;
  std::string line;  // op_line.h syntax with $references; "" = not known (imported trace)
  std::string as;    // "" = result not bound
};

// A point of the inflight plot (HTML report): all pools' inflight pages after op `op`.
struct InflightSample {
  uint64_t op = 0;
  int64_t time_ns = 0;
  int64_t pages = 0;
};

// One stored violation record, for marking it on the plot.
struct ViolationEvent {
  std::string id;
  uint64_t op = 0;
  int64_t time_ns = 0;
};

// What `compare` tabulates per strategy (docs/design.md §6), from the lab's pools after the run.
struct TeardownCosts {
  int64_t drain_time_ns = -1;        // longest detach → inflight 0 of a destroyed pool; -1 never
  int64_t max_lock_hold_ns = 0;      // longest BH-disabling hold of any teardown
  int64_t removal_latency_ns = -1;   // longest remove_device wait; -1 = no removal
  uint64_t memory_overhead_bytes = 0;
  uint64_t strategy_host_ns = 0;     // host time spent inside the strategies
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
  uint64_t seed = 0;                      // the lab seed of this run
  uint64_t rejected_ops = 0;              // chaos ops the lab refused (the generator's bug)
  std::vector<std::string> rejections;    // the first few refusals, for the report
  std::vector<TracedOp> trace;            // only with RunOptions::record_trace
  std::vector<InflightSample> inflight;   // only with RunOptions::sample_inflight
  std::vector<ViolationEvent> events;     // every stored violation record, by op
  TeardownCosts costs;
};

struct ScenarioResult {
  std::string scenario;
  std::string file;
  uint64_t seed = 0;
  std::string target;  // "" = embedded
  std::vector<RunResult> runs;
  // `ppctl shrink --junit`: the shrunk op lines this scenario is (op_line.h syntax, a bound
  // name as a trailing "# as NAME"); the JUnit report lists them in <system-out> (reference
  // C3). Empty for every other run.
  std::vector<std::string> minimized_ops;
};

struct RunOptions {
  std::vector<std::string> strategies;  // only these runs; empty = every strategy
  std::optional<uint64_t> seed;         // overrides lab.seed (and so the chaos generator's)
  std::optional<uint64_t> chaos_ops;    // overrides chaos.ops
  bool record_trace = false;            // fill RunResult::trace
  bool sample_inflight = false;         // fill RunResult::inflight (~500 samples per run)
  size_t inflight_samples = 500;        // how many (soak rounds take few)
};

// INVALID_ARGUMENT naming file, line and step for an op the lab rejects or a $reference that
// does not resolve (a scenario error); the target's own status when it fails (UNAVAILABLE:
// unreachable). Violations are results, not errors; a chaos op the lab refuses is counted in
// RunResult::rejected_ops, not an error.
absl::StatusOr<ScenarioResult> RunScenario(const Scenario& s, LabTarget& target,
                                           const RunOptions& options = {});

// One run of `s` under `strategy` on a lab that already exists (`ppctl chaos --shared-lab`:
// several workers on one lab; the facts judged at the end are the whole lab's). options'
// strategies are ignored.
absl::StatusOr<RunResult> RunOnLab(const Scenario& s, LabSession& lab,
                                   const std::string& strategy, const RunOptions& options);

// Whether `goal` is a `sometimes:` goal the runner knows (the loader's check).
bool IsSometimesGoal(const std::string& goal);

// exit_codes.h: kExitSafety if any run broke safety, else kExitLiveness if any broke liveness,
// else kExitUnknown if any verdict is unknown, else kExitPass.
int ExitCodeFor(const ScenarioResult& r);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_RUNNER_H_
