// Replays every input of the structure-aware fuzzer's corpus (tests/fuzz/corpus/lab_ops_fuzzer/:
// its seeds, the inputs it kept, and each crash it found, named crash-*) through the same
// decoder, checking the model's invariants after every op and that rejected ops change nothing.
// Under the asan preset this is the fuzzer's findings as regression tests, without libFuzzer.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/op_decoder.h"

namespace ppsim::testing {
namespace {

std::vector<std::filesystem::path> CorpusFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(PPSIM_LAB_OPS_CORPUS)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(LabOpsCorpusTest, CorpusIsThere) {
  // The crash the fuzzer was written for (an skb merged by GRO into its own clone) must stay.
  bool gro_clone = false;
  for (const auto& f : CorpusFiles()) gro_clone |= f.filename().string().starts_with("crash-gro");
  EXPECT_TRUE(gro_clone) << "tests/fuzz/corpus/lab_ops_fuzzer/crash-gro-* is missing";
  EXPECT_GE(CorpusFiles().size(), 5u);
}

TEST(LabOpsCorpusTest, EveryInputKeepsTheModelConsistent) {
  for (const auto& f : CorpusFiles()) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string log;
    const absl::Status s = RunDecodedOps(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 256,
        &log);
    EXPECT_TRUE(s.ok()) << f.filename() << ": " << s << "\n" << log;
  }
}

}  // namespace
}  // namespace ppsim::testing
