// libFuzzer target: op sequences straight into Lab::Apply, with every id drawn from the lab's
// live objects (tests/support/op_decoder.h), so inputs reach deep model states: skbs cloned,
// merged and chained over pages of pools whose devices come and go. After every op the model's
// own invariants are checked (server/sim/invariants.h), and a rejected op must leave the lab
// untouched and say why. ASan and UBSan catch the rest.
//
// A finding is reproduced with `build/<preset>/tests/fuzz/lab_ops_fuzzer ARTIFACT`, which prints
// the decoded ops; it then goes into tests/fuzz/corpus/lab_ops_fuzzer/ with the fix, where
// lab_ops_corpus_test replays it in every test run.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/types/span.h"
#include "tests/support/op_decoder.h"

namespace {
// Bounds one input's work so that none nears libFuzzer's -timeout.
constexpr size_t kMaxOps = 64;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // PPSIM_FUZZ_ECHO=1: print each op before it runs (to read the ops of a finding that crashes).
  static const bool echo = std::getenv("PPSIM_FUZZ_ECHO") != nullptr;
  std::string log;
  const absl::Status s = ppsim::testing::RunDecodedOps(absl::MakeConstSpan(data, size), kMaxOps,
                                                       &log, echo);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n%s\n", log.c_str(), std::string(s.message()).c_str());
    std::abort();
  }
  return 0;
}
