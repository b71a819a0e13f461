// ppctl: the ppsim command line (docs/design.md §1, §6).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

int main(int argc, char** argv) {
  using namespace ppsim::ppctl;
  CLI::App app{absl::StrCat(
      "ppctl: drive ppsim labs (simulated page_pool over a simulated IOMMU).\n"
      "Subcommands that talk to ppsimd take --target HOST:PORT (default 127.0.0.1:50051,\n"
      "or $PPSIM_TARGET) and exit ", kExitRpcBase, " + the gRPC status code when a call fails (",
      RpcExitCode(absl::StatusCode::kUnavailable), ": the\ntarget is unreachable); ", kExitUsage,
      " is a usage error.")};
  app.require_subcommand(1);
  const std::vector<Command> commands = {
      AddDemoCommand(&app),      AddLabsCommand(&app),   AddCreateLabCommand(&app),
      AddDeleteLabCommand(&app), AddPoolsCommand(&app),  AddApplyCommand(&app),
      AddWatchCommand(&app),     AddHealthCommand(&app), AddRunCommand(&app),
      AddChaosCommand(&app),     AddSoakCommand(&app),   AddCompareCommand(&app),
      AddReplayCommand(&app),    AddShrinkCommand(&app), AddReportCommand(&app),
      AddOracleCommand(&app),    AddOracleGenCommand(&app), AddOracleFromScenarioCommand(&app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;  // usage error (docs/design.md §6)
  }
  for (const Command& c : commands) {
    if (!c.cmd->parsed()) continue;
    // The last line of defence: input paths validate their bytes and fields (issue 21 item 9),
    // and a library exception that still escapes is a ppctl bug: say so and exit 70 instead of
    // aborting with a core dump.
    try {
      return c.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ppctl %s: internal error: %s\n", c.cmd->get_name().c_str(), e.what());
      return kExitInternal;
    }
  }
  return kExitUsage;
}
