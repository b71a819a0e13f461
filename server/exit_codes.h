// ppsimd's exit statuses, defined once: the code returns these names and `ppsimd --help` prints
// the table (daemon_options.cc), so the two cannot disagree. sysexits' EX_USAGE for bad input,
// as ppctl (client/chaos/exit_codes.h) uses it.
#ifndef PPSIM_SERVER_EXIT_CODES_H_
#define PPSIM_SERVER_EXIT_CODES_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace ppsim::daemon {

inline constexpr int kExitClean = 0;    // a clean shutdown (SIGTERM, SIGINT), --help, --version
inline constexpr int kExitRuntime = 1;  // an address cannot be bound, a file cannot be written
inline constexpr int kExitUsage = 64;   // a bad flag, config file or value

struct DaemonExitCode {
  int code;
  const char* meaning;
};
inline constexpr DaemonExitCode kDaemonExitCodes[] = {
    {kExitClean, "after a clean shutdown"},
    {kExitUsage, "for a bad flag or config"},
    {kExitRuntime, "when an address cannot be bound or a file cannot be written"},
};

// "Exit status: 0 after a clean shutdown, 64 for a bad flag or config, 1 when ...".
inline std::string ExitStatusHelp() {
  std::string out = "Exit status:";
  const char* sep = " ";
  for (const DaemonExitCode& e : kDaemonExitCodes) {
    absl::StrAppend(&out, sep, e.code, " ", e.meaning);
    sep = ", ";
  }
  return out + ".";
}

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_EXIT_CODES_H_
