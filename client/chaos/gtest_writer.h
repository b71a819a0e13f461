// File: client/chaos/gtest_writer.h
// A shrunk scenario as a GoogleTest case (a
// ready-to-paste C++ test using the client library). The test embeds the scenario's YAML,
// loads it with LoadScenarioText, runs it embedded with RunScenario and expects the violation
// to be raised and the run to pass its `expect` (occur: [id]). It needs only ppsim_chaos and
// GTest::gtest_main; tests/unit/chaos/shrunk/ holds one such generated file, built and run by
// the test suite so that emitted code is known to compile and pass.
#ifndef PPSIM_CLIENT_CHAOS_GTEST_WRITER_H_
#define PPSIM_CLIENT_CHAOS_GTEST_WRITER_H_

#include <string>
#include <vector>

#include "client/chaos/scenario.h"

namespace ppsim::chaos {

// `yaml`: the scenario text (ScenarioToYaml); `violation`: the id it must raise; `comment`:
// lines for the header comment (the shrink command, the seed); `name`: the TEST's name, made a
// C++ identifier (CamelCase of its words: "shrunk-chaos-PP008" → ShrunkChaosPP008).
std::string GtestCaseText(const std::string& yaml, const std::string& violation,
                          const std::vector<std::string>& comment, const std::string& name);

// The identifier GtestCaseText uses for `name`.
std::string GtestIdentifier(const std::string& name);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_GTEST_WRITER_H_
