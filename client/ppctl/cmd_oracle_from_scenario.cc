// `ppctl oracle-from-scenario FILE... --out DIR`: catalog scenarios as kernel oracle sequences
// (client/oracle/from_scenario.h): DIR/catalog-<name>.ops for each scenario the module can
// express; each one it cannot is named on stderr with its step and op. One summary line:
//   oracle-from-scenario: 46 scenarios, 3 translated (41 ops), 43 refused, in DIR
// Exit: 0 every scenario written · 64 a scenario refused or not loadable (the others are
// still written) or a usage error · 70 a file not written.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "client/oracle/from_scenario.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"
#include "client/ppctl/report_files.h"

namespace ppsim::ppctl {

namespace {

struct Flags {
  std::vector<std::string> files;
  std::string out;
};

int Run(const Flags& f) {
  if (f.out.empty()) return UsageError("oracle-from-scenario", "--out is required");
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  if (ec) {
    std::cerr << "ppctl oracle-from-scenario: cannot create " << f.out << ": " << ec.message()
              << "\n";
    return kExitInternal;
  }
  size_t written = 0, refused = 0, ops = 0;
  for (const std::string& file : f.files) {
    absl::StatusOr<oracle::CatalogSequence> t = oracle::TranslateScenarioFile(file);
    if (!t.ok()) {
      ++refused;
      std::cerr << "ppctl oracle-from-scenario: "
                << (absl::IsUnimplemented(t.status()) ? "cannot express: " : "") << t.status().message()
                << "\n";
      continue;
    }
    if (int rc = WriteTextFile("oracle-from-scenario", f.out + "/" + t->name + ".ops", t->Text());
        rc != 0) {
      return rc;
    }
    ++written;
    ops += t->ops;
  }
  std::cout << "oracle-from-scenario: " << f.files.size() << " scenarios, " << written
            << " translated (" << ops << " ops), " << refused << " refused, in " << f.out << "\n";
  return refused == 0 ? 0 : kExitUsage;
}

}  // namespace

Command AddOracleFromScenarioCommand(CLI::App* root) {
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = root->add_subcommand(
      "oracle-from-scenario",
      "Translate catalog scenarios into the kernel oracle's op language: DIR/catalog-<name>.ops\n"
      "for each one the test module can express (client/oracle/from_scenario.h); each one it\n"
      "cannot is named with its step and op, and the exit is 64. Run them with\n"
      "scripts/oracle.sh --sequences DIR, compare with ppctl oracle --observed OUT/<series>.");
  cmd->add_option("FILE", flags->files, "Scenario files (client/scenarios/*.yaml)")->required();
  cmd->add_option("--out", flags->out, "Directory to write them to (made if missing)");
  return {cmd, [flags] { return Run(*flags); }};
}

}  // namespace ppsim::ppctl
