// libFuzzer target: bytes → chaos::LoadScenarioText (YAML, and JSON through the same parser).
// Whatever the bytes, the loader returns a Scenario or an error Status; it must never crash,
// throw, leak or hit undefined behaviour (ASan + UBSan are on in the fuzz preset). An error
// must be INVALID_ARGUMENT and name the file, as scenario_loader.h promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "client/chaos/scenario_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ppsim::chaos::Scenario> s = ppsim::chaos::LoadScenarioText(text, "fuzz.yaml");
  if (!s.ok()) {
    // The contract the CLI relies on for exit 64: a malformed file is INVALID_ARGUMENT with a
    // message that starts with the file name.
    if (s.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(s.status().message(), "fuzz.yaml")) {
      std::fprintf(stderr, "unexpected loader error: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  // A scenario that loads yields a lab config for each of its strategies.
  for (const std::string& strategy : s->strategies) (void)ppsim::chaos::LabConfigFor(*s, strategy);
  (void)ppsim::chaos::LabConfigFor(*s, "");
  return 0;
}
