// File: client/chaos/compare.h
// `ppctl compare` (docs/design.md §6): one seeded workload
// — a scenario's steps, chaos block and liveness phase, one seed for all — run once under each
// teardown strategy, and the table a patch author reads to answer "does my fix remove the
// crash, and what does it cost?": verdict, violations, drain time, longest lock hold, removal
// latency, memory overhead, host time (the run's, and the part spent inside the strategy's
// teardown work), digest.
#ifndef PPSIM_CLIENT_CHAOS_COMPARE_H_
#define PPSIM_CLIENT_CHAOS_COMPARE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario.h"

namespace ppsim::chaos {

struct CompareOptions {
  std::vector<std::string> strategies;  // the model's registry names, in table order
  std::optional<uint64_t> seed;         // overrides lab.seed (and the chaos generator's)
  std::optional<uint64_t> ops;          // overrides chaos.ops
  bool sample_inflight = false;         // for the HTML plot
  bool record_trace = false;            // for the op lines of JUnit and HTML
};

// The model's teardown strategy names (server/sim's registry), in registry order.
std::vector<std::string> KnownStrategies();

// INVALID_ARGUMENT "--strategies: unknown strategy \"x\"; valid: legacy, scan, ..." for the
// first name the model does not know, or for an empty list or a name given twice.
absl::Status CheckStrategies(const std::vector<std::string>& strategies);

// Runs `s` once per strategy (each run's lab gets it as its default strategy; the scenario's
// `expect` entries judge the strategies they name, and any violation fails the others, as
// in `ppctl run`). Errors are RunScenario's.
absl::StatusOr<ScenarioResult> Compare(const Scenario& s, LabTarget& target,
                                       const CompareOptions& options);

// The table, one row per run, fixed-width columns, ending with a newline.
std::string CompareTable(const ScenarioResult& r);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_COMPARE_H_
