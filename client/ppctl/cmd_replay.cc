// `ppctl replay`: placeholder registration while the command is being written (issue 5).
#include <iostream>

#include "client/ppctl/commands.h"

namespace ppsim::ppctl {

Command AddReplayCommand(CLI::App* root) {
  CLI::App* cmd = root->add_subcommand("replay", "(not built yet)");
  return {cmd, [] {
            std::cerr << "ppctl replay: not built yet\n";
            return 70;
          }};
}

}  // namespace ppsim::ppctl
