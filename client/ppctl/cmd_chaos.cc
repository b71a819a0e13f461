// `ppctl chaos`: placeholder registration while the command is being written (issue 5).
#include <iostream>

#include "client/ppctl/commands.h"

namespace ppsim::ppctl {

Command AddChaosCommand(CLI::App* root) {
  CLI::App* cmd = root->add_subcommand("chaos", "(not built yet)");
  return {cmd, [] {
            std::cerr << "ppctl chaos: not built yet\n";
            return 70;
          }};
}

}  // namespace ppsim::ppctl
