// File: client/chaos/scenario_writer.h
// Scenario → YAML text that LoadScenarioText reads back to the same scenario (docs/design.md §6),
// and the scenario a shrink produces from a trace.
//
// Op lines are written as double-quoted YAML scalars (they hold $, @, =, quotes and commas);
// a step with `as:` or `repeat:` becomes a mapping with `op:`.
#ifndef PPSIM_CLIENT_CHAOS_SCENARIO_WRITER_H_
#define PPSIM_CLIENT_CHAOS_SCENARIO_WRITER_H_

#include <string>
#include <vector>

#include "client/chaos/scenario.h"
#include "client/chaos/shrink.h"
#include "client/chaos/trace.h"

namespace ppsim::chaos {

// `comment` lines (without '#') go first, as YAML comments.
std::string ScenarioToYaml(const Scenario& s, const std::vector<std::string>& comment = {});

// The regression scenario of a shrunk trace. It runs the trace's strategy on the trace's lab
// (profile, seed, IOMMU, switches as the LabConfig had them) and EXPECTS the id:
//   expect: {<strategy>: {occur: [<id>]}}
// so it PASSES (exit 0) while the bug reproduces and FAILS (exit 1, "<id> expected but never
// raised") once the model stops raising it. That is the regression test of a bug the model is
// meant to catch; a fix scenario is its `-fixed` twin with `none: true` (as in
// client/scenarios/). `source` names the trace file in the description.
Scenario ShrunkScenario(const Trace& t, const std::vector<ShrinkStep>& steps,
                        const std::string& violation, const std::string& source);

// A quoted YAML scalar: "..." with \\ \" and control characters escaped.
std::string YamlQuote(const std::string& s);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_SCENARIO_WRITER_H_
