// `ppctl report`: placeholder registration while the command is being written (issue 5).
#include <iostream>

#include "client/ppctl/commands.h"

namespace ppsim::ppctl {

Command AddReportCommand(CLI::App* root) {
  CLI::App* cmd = root->add_subcommand("report", "(not built yet)");
  return {cmd, [] {
            std::cerr << "ppctl report: not built yet\n";
            return 70;
          }};
}

}  // namespace ppsim::ppctl
