// `ppctl compare`: placeholder registration while the command is being written (issue 5).
#include <iostream>

#include "client/ppctl/commands.h"

namespace ppsim::ppctl {

Command AddCompareCommand(CLI::App* root) {
  CLI::App* cmd = root->add_subcommand("compare", "(not built yet)");
  return {cmd, [] {
            std::cerr << "ppctl compare: not built yet\n";
            return 70;
          }};
}

}  // namespace ppsim::ppctl
