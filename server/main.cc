// ppsimd: the ppsim daemon (docs/design.md §1). `ppsimd --help` lists the flags.
#include <iostream>

#include "server/daemon.h"
#include "server/daemon_options.h"
#include "server/logging.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  using namespace ppsim::daemon;
  const sigset_t signals = BlockShutdownSignals();
  DaemonOptions options;
  if (int rc = ParseDaemonOptions(argc, argv, &options, std::cout, std::cerr); rc >= 0) return rc;
  SetupLogging(options.log_format, options.log_level);
  const int rc = RunDaemon(options, signals);
  spdlog::shutdown();  // drains the async logger, so the last lines (and errors) are written
  return rc;
}
