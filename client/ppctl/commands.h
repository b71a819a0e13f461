// ppctl's subcommands (docs/design.md §1, §6). Each Add*Command registers one subcommand, its flags
// and help on `root`, and returns what main runs when the command line chose it: a function
// that returns the process exit code.
#ifndef PPSIM_CLIENT_PPCTL_COMMANDS_H_
#define PPSIM_CLIENT_PPCTL_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>

namespace ppsim::ppctl {

struct Command {
  CLI::App* cmd = nullptr;
  std::function<int()> run;
};

Command AddLabsCommand(CLI::App* root);       // cmd_labs.cc
Command AddCreateLabCommand(CLI::App* root);  // cmd_labs.cc
Command AddDeleteLabCommand(CLI::App* root);  // cmd_labs.cc
Command AddPoolsCommand(CLI::App* root);      // cmd_pools.cc
Command AddApplyCommand(CLI::App* root);      // cmd_apply.cc
Command AddWatchCommand(CLI::App* root);      // cmd_watch.cc
Command AddHealthCommand(CLI::App* root);     // cmd_health.cc
Command AddDemoCommand(CLI::App* root);       // demo.cc
Command AddRunCommand(CLI::App* root);        // run_command.cc
Command AddChaosCommand(CLI::App* root);      // cmd_chaos.cc
Command AddSoakCommand(CLI::App* root);       // cmd_soak.cc
Command AddCompareCommand(CLI::App* root);    // cmd_compare.cc
Command AddReplayCommand(CLI::App* root);     // cmd_replay.cc
Command AddShrinkCommand(CLI::App* root);     // cmd_shrink.cc
Command AddReportCommand(CLI::App* root);     // cmd_report.cc
Command AddOracleCommand(CLI::App* root);     // cmd_oracle.cc
Command AddOracleGenCommand(CLI::App* root);  // cmd_oracle_gen.cc
Command AddOracleFromScenarioCommand(CLI::App* root);  // cmd_oracle_from_scenario.cc

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_COMMANDS_H_
