// File: client/chaos/scenario_loader.h
// Scenario files (YAML; JSON is YAML too and goes through the same parser) → Scenario,
// validated before anything runs. Every error is one line that names the file, the 1-based
// line, the field path and what was expected:
//
//   bad.yaml:7: steps[2].repeat: expected a positive integer, got "-1"
//
// Unknown keys are errors (a typo must not silently drop an expectation), and so is a second
// `as:` with a name already bound. Op lines are parsed with client/lib/op_line.h; one that holds
// $references is checked as far as it can be before the run: every name is bound by an earlier
// step, and the line parses with each reference replaced by a placeholder of the type it
// resolves to (bindings.h), so values, types and the context are checked; only what the
// referenced op produces at run time (e.g. how many pages) is left to the run.
#ifndef PPSIM_CLIENT_CHAOS_SCENARIO_LOADER_H_
#define PPSIM_CLIENT_CHAOS_SCENARIO_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/chaos/scenario.h"
#include "ppsim/v1/types.pb.h"

namespace ppsim::chaos {

// INVALID_ARGUMENT with the message above for a malformed scenario, NOT_FOUND when the file
// cannot be read.
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);
// The same from text; `file` only names it in errors.
absl::StatusOr<Scenario> LoadScenarioText(absl::string_view text, const std::string& file);

// The lab a run under `strategy` gets ("" = the scenario's lab default).
v1::LabConfig LabConfigFor(const Scenario& s, const std::string& strategy);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_SCENARIO_LOADER_H_
