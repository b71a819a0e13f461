// File: client/chaos/shrink.h
// Shrinking a failing run (docs/design.md §6 `shrink`, in the manner of QuickCheck and
// Hypothesis): from a trace's symbolic steps (op lines with $references and `as:` names), find a
// short step list that still raises the same violation id on a fresh embedded lab with the
// trace's LabConfig.
//
//   1. run the whole trace once, stopping at the first op that raises the id; cut the rest
//   2. try the reference closure of that op (the steps whose results it uses, transitively),
//      then that closure plus every step touching an object the closure created
//   3. ddmin (Zeller & Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", 2002):
//      remove chunks, halving their size when no removal works; then remove single steps
//      until none can go (1-minimal)
//   4. merge adjacent literal `advance_time` steps into one (their sum), remove single steps
//      again, then halve each literal `advance_time ns=` value while the id still reproduces
//
// Every candidate runs from scratch on server/sim directly (no YAML, no gRPC, no Facts()),
// stopping at the first op that raises the id. A candidate is the steps kept; removing a step
// also removes every step that references its result (hierarchical delta debugging), so
// $references always resolve statically. A candidate whose reference still fails to resolve
// (an index the op no longer produced) or whose op the lab rejects is invalid: it counts as
// "does not reproduce", never as passing. Each reproducing candidate is cut after the op that
// raised the id.
//
// Fidelity: a candidate is also rejected when it raises a violation id, at any op up to and
// including the one raising the target, that the original trace did not raise up to its cut
// point (ids only: the same id raised more often is fine). Deleting steps can otherwise drift
// into sequences no kernel path executes: drop a `bind_driver` and every later DMA op raises
// PP002 dma-api-after-unbind; drop the `kfree_skb` that un-clones an skb and a GRO merges a
// shared skb. The target may still be raised, but a kernel engineer reading the reproducer would
// be chasing illegal behaviour the shrinker made up, not the bug. Re-checking preconditions
// while shrinking is what makes a shrunk input trustworthy (as RapidCheck and Hypothesis
// do); here the model's violations are the preconditions.
// Warning- and leak-severity ids (PP005, PP011–PP014, PP017) are exempt: deleting steps shifts
// lifetimes and timing (a page held past a destroy is PP012), which is not a new kind of bug.
// ShrinkOptions::allow_new_violations turns the rule off (`ppctl shrink --allow-new-violations`).
#ifndef PPSIM_CLIENT_CHAOS_SHRINK_H_
#define PPSIM_CLIENT_CHAOS_SHRINK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/chaos/trace.h"
#include "ppsim/v1/types.pb.h"

namespace ppsim::chaos {

// One step as the shrinker edits it: an op line (op_line.h, $references allowed) and the name
// its result is bound to ("" = none).
struct ShrinkStep {
  std::string line;
  std::string as;
};

// The trace's steps: each op's symbolic line, or its concrete op printed (an imported trace
// without lines; such steps cannot be re-resolved, so deleting allocations shifts handles
// and most candidates turn invalid).
std::vector<ShrinkStep> StepsOf(const Trace& t);

// One execution of `steps` on a fresh embedded lab.
struct StepRun {
  bool valid = true;      // every reference resolved and every op was accepted
  size_t bad_step = 0;    // !valid: the step that failed
  std::string why;        // !valid: the reference or rejection message
  bool raised = false;    // `violation` was raised
  size_t raised_at = 0;   // raised: the step whose op raised it first
  size_t applied = 0;     // steps applied
  uint64_t digest = 0;    // the lab's digest after the last applied step
  // Bit (n - 1) for each PPnnn raised by the steps applied, up to and including the step that
  // raised `violation` (all applied steps when it was not raised).
  uint32_t ids = 0;
  // An id outside the allowed set was raised (Shrink's fidelity rule; never from RunSteps):
  // the run stopped at that step. A candidate with it does not reproduce.
  bool introduced = false;
  size_t introduced_at = 0;      // introduced: the step
  std::string introduced_id;     // introduced: the first such id, PPnnn
};

// The ids of a StepRun::ids mask, ascending ("PP002").
std::vector<std::string> ViolationIdsOf(uint32_t ids);

// INVALID_ARGUMENT for an unknown violation id or a config the model refuses. `violation` ""
// = run every step and never stop early.
absl::StatusOr<StepRun> RunSteps(const v1::LabConfig& config, const std::vector<ShrinkStep>& steps,
                                 const std::string& violation, bool stop_when_raised);

struct ShrinkProgress {
  const char* phase;    // "cut", "closure", "ddmin", "single", "merge", "time"
  uint64_t runs;        // candidates executed so far
  size_t steps;         // the current best length
};

struct ShrinkOptions {
  std::string violation;   // PPnnn
  uint64_t max_runs = 2000;
  bool simplify_time = true;  // step 4
  // Accept candidates that raise ids the original did not (the fidelity rule above, off).
  bool allow_new_violations = false;
  std::function<void(const ShrinkProgress&)> progress;  // after each phase and every 50 runs
};

struct ShrinkResult {
  enum class Outcome {
    kShrunk,     // `steps` is 1-minimal: removing any one step (and what references it) stops
                 // the id, invalidates the run or raises a new id (checked before the final
                 // halving)
    kNotRaised,  // the whole trace never raises the id
    kBudget,     // max_runs ran out first: `steps` reproduces but may not be minimal
  };
  Outcome outcome = Outcome::kShrunk;
  std::vector<ShrinkStep> steps;  // reproduces the id (empty for kNotRaised)
  std::vector<size_t> kept;       // their indices in StepsOf(trace)
  size_t original = 0;            // steps in the trace
  size_t cut = 0;                 // steps up to and including the first raising op
  uint64_t runs = 0;              // candidates executed, the first full run included
  // The ids the original raised up to its cut (what the fidelity rule allows), and how many
  // candidates were rejected for raising another one.
  std::vector<std::string> original_ids;
  uint64_t rejected_new = 0;
  std::map<std::string, uint64_t> rejected_by_id;  // by the first new id each one raised
  double seconds = 0;             // host time
};

// INVALID_ARGUMENT for an unknown id or config; FAILED_PRECONDITION when the trace itself does
// not replay (a step is invalid before the id is raised: the trace is not this build's).
absl::StatusOr<ShrinkResult> Shrink(const Trace& t, const ShrinkOptions& options);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_SHRINK_H_
