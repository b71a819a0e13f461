// `ppctl oracle-gen --count N --seed S --out DIR`: the generated corpus of the kernel oracle
// (client/oracle/generate.h): DIR/gen-<seed>.ops for the seeds S..S+N-1, each a valid random
// sequence of the oracle's op language, for scripts/oracle.sh --sequences DIR and then
// `ppctl oracle --observed OUT/<series> DIR/*.ops`. Prints one summary line
//   oracle-gen: 500 sequences (seeds 1..500), 62431 ops, 48 with a sleep, in DIR
// Exit: 0 written · 64 usage error (an option, an unknown kind) · 70 a file not written.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "client/oracle/generate.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {

struct OracleGenFlags {
  uint64_t count = 1;
  uint64_t seed = 1;
  std::string out;
  std::string weights;
  oracle::GenerateOptions options;
  bool kinds = false;
};

void PrintKinds() {
  for (const oracle::GenKindInfo& k : oracle::GenKinds()) {
    std::cout << k.name << " (" << k.default_weight << "): " << k.emits << "\n";
  }
}

int RunOracleGen(OracleGenFlags& f) {
  if (f.kinds) {
    PrintKinds();
    return 0;
  }
  if (f.out.empty()) return UsageError("oracle-gen", "--out is required");
  if (f.count == 0 || f.count > 100000) {
    return UsageError("oracle-gen", "--count: 1..100000 sequences");
  }
  if (absl::Status s = oracle::ParseGenWeights(f.weights, f.options); !s.ok()) {
    return UsageError("oracle-gen", s.message());
  }
  if (absl::Status s = oracle::ValidateGenerateOptions(f.options); !s.ok()) {
    return UsageError("oracle-gen", s.message());
  }
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  if (ec) {
    std::cerr << "ppctl oracle-gen: cannot create " << f.out << ": " << ec.message() << "\n";
    return kExitInternal;
  }
  size_t ops = 0, sleeps = 0;
  for (uint64_t i = 0; i < f.count; ++i) {
    const oracle::GeneratedSequence s = oracle::GenerateSequence(f.seed + i, f.options);
    ops += s.lines.size();
    for (oracle::GenKind k : s.kinds) sleeps += k == oracle::GenKind::kAdvanceTime;
    if (int rc = WriteTextFile("oracle-gen", f.out + "/" + s.name + ".ops", s.Text()); rc != 0) {
      return rc;
    }
  }
  std::cout << "oracle-gen: " << f.count << " sequences (seeds " << f.seed << ".."
            << f.seed + f.count - 1 << "), " << ops << " ops, " << sleeps << " with a sleep, in "
            << f.out << "\n";
  return 0;
}

}  // namespace

Command AddOracleGenCommand(CLI::App* root) {
  auto flags = std::make_shared<OracleGenFlags>();
  CLI::App* cmd = root->add_subcommand(
      "oracle-gen",
      "Write the kernel oracle's generated corpus: DIR/gen-<seed>.ops for seeds S..S+N-1, valid\n"
      "random sequences of the oracle's op language (tests/oracle/README.md \"The generated\n"
      "corpus\"). The same seed and options give the same file. Run them with\n"
      "scripts/oracle.sh --sequences DIR, compare with ppctl oracle --observed OUT/<series>.");
  cmd->add_option("--count", flags->count, "Sequences to write")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Seed of the first sequence")->capture_default_str();
  cmd->add_option("--out", flags->out, "Directory to write them to (made if missing)");
  cmd->add_option("--min-ops", flags->options.min_ops, "Fewest ops per sequence")
      ->capture_default_str();
  cmd->add_option("--max-ops", flags->options.max_ops, "Most ops per sequence")
      ->capture_default_str();
  cmd->add_option("--weights", flags->weights,
                  "Kind weights, e.g. put_bh=0,alloc=20 (the others keep theirs; --kinds)");
  cmd->add_option("--sleep-share", flags->options.sleep_share,
                  "Share of the sequences with one advance_time (100..300 ms or 1.3..1.5 s)")
      ->capture_default_str();
  cmd->add_flag("--kinds", flags->kinds, "List the kinds, their default weights and ops");
  return {cmd, [flags] { return RunOracleGen(*flags); }};
}

}  // namespace ppsim::ppctl
