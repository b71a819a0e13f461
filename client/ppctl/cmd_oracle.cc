// `ppctl oracle [--profile NAME] [--observed DIR] FILE.ops...`: each sequence of the kernel
// oracle's op language run on an embedded lab and compared, op by op, with what the real
// kernel did (DIR/<sequence>.json, written by scripts/oracle.sh; client/oracle/oracle.h).
// Prints per sequence `agree` or its first divergence (op, line, field, kernel and model
// values), once the fields that were not compared, with --classes the first divergences counted
// by kind (divergence_class.h), and the summary line
//   oracle 6.12.95: 2 sequences, 31 ops, 1 divergences
// Exit: 0 every sequence agrees · 1 a divergence · 64 usage error, unreadable or malformed
// file, no observation for a sequence, or an op the model cannot express (named with its line).
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "client/chaos/exit_codes.h"
#include "client/oracle/divergence_class.h"
#include "client/oracle/oracle.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

namespace {

struct OracleFlags {
  std::vector<std::string> files;
  std::string profile;  // "" = the nearest to the observed kernel's series
  std::string observed = oracle::DefaultObservedDir();
  bool all = false;
  bool classes = false;
};

void PrintNotCompared(const std::set<std::pair<std::string, std::string>>& seen) {
  std::cout << "not compared:\n";
  for (const oracle::NotCompared& n : oracle::FieldsNeverCompared()) {
    std::cout << "  " << n.field << ": " << n.why << "\n";
  }
  for (const auto& [field, why] : seen) std::cout << "  " << field << ": " << why << "\n";
}

int RunOracle(const OracleFlags& f) {
  int code = 0;
  size_t sequences = 0, ops = 0, divergences = 0, timing = 0;
  std::set<std::string> versions;
  std::set<std::pair<std::string, std::string>> not_compared;
  std::string profile_shown;
  oracle::DivergenceClasses classes;
  for (const std::string& file : f.files) {
    absl::StatusOr<oracle::SequenceResult> r = oracle::CompareFiles(file, f.observed, f.profile);
    if (!r.ok()) {
      std::cerr << "ppctl oracle: " << r.status().message() << "\n";
      code = kExitUsage;
      continue;
    }
    if (r->profile != profile_shown) {
      std::cout << "model profile " << r->profile << " against kernel " << r->kernel_version
                << (f.profile.empty() ? " (the nearest profile; --profile to choose)" : "")
                << "\n";
      profile_shown = r->profile;
    }
    ++sequences;
    ops += r->ops;
    versions.insert(r->kernel_version);
    for (const oracle::NotCompared& n : r->comparison.not_compared) {
      not_compared.insert({n.field, n.why});
    }
    const std::vector<oracle::Divergence>& d = r->comparison.divergences;
    if (!r->comparison.timing.empty()) {
      ++timing;
      std::cout << r->sequence << ": within a release retry: "
                << oracle::FormatDivergence(r->comparison.timing[0]) << "\n";
    }
    if (d.empty()) {
      std::cout << r->sequence << ": agree\n";
      continue;
    }
    ++divergences;
    if (code == 0) code = chaos::kExitSafety;  // "a divergence" (exit_codes.h)
    classes.Add(r->sequence, d[0]);
    std::cout << r->sequence << ": " << oracle::FormatDivergence(d[0]) << "\n";
    if (f.all) {
      for (size_t i = 1; i < d.size(); ++i) {
        std::cout << "  then " << oracle::FormatDivergence(d[i]) << "\n";
      }
    } else if (d.size() > 1) {
      std::cout << "  (" << d.size() - 1 << " more differences after it; --all lists them)\n";
    }
  }
  if (sequences > 0) PrintNotCompared(not_compared);
  if (f.classes && !classes.empty()) {
    std::cout << "first divergences by kind (sequences, op: field):\n";
    for (const std::string& l : classes.Lines()) std::cout << l << "\n";
  }
  std::cout << "oracle " << (versions.empty() ? "?" : absl::StrJoin(versions, ",")) << ": "
            << sequences << " sequences, " << ops << " ops, " << divergences << " divergences";
  if (timing > 0) {
    std::cout << " (" << timing << " with a difference in a destroyed pool within a release "
              << "retry, not counted)";
  }
  std::cout << "\n";
  return code;
}

}  // namespace

Command AddOracleCommand(CLI::App* root) {
  auto flags = std::make_shared<OracleFlags>();
  CLI::App* cmd = root->add_subcommand(
      "oracle",
      "Run kernel-oracle sequences (tests/oracle/sequences/*.ops) on an embedded lab and compare\n"
      "them op by op with the real kernel's observations (DIR/<sequence>.json from\n"
      "scripts/oracle.sh). Prints `agree` or the first divergence per sequence, the fields not\n"
      "compared, and a summary line.\n" +
          chaos::ExitCodeHelp("oracle"));
  cmd->add_option("files", flags->files, "Sequences (.ops)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--profile", flags->profile,
                  "Model kernel profile (default: v<series> of the observed kernel, else the "
                  "newest older one)");
  cmd->add_option("--observed", flags->observed, "Directory of the kernel's observation files")
      ->capture_default_str();
  cmd->add_flag("--all", flags->all, "List every difference after the first, too");
  cmd->add_flag("--classes", flags->classes,
                "Before the summary, count the sequences by the kind of their first divergence "
                "(op and field, indices left out), with one example each");
  return {cmd, [flags] { return RunOracle(*flags); }};
}

}  // namespace ppsim::ppctl
