// ppsimd's settings: command-line flags over an optional YAML file (--config FILE, same keys as
// the long flags) over embedded defaults, so `ppsimd` with no arguments serves on loopback.
//
//   # ppsimd.yaml
//   listen: 0.0.0.0:50051
//   metrics-listen: 0.0.0.0:9464
//   log-format: json
#ifndef PPSIM_SERVER_DAEMON_OPTIONS_H_
#define PPSIM_SERVER_DAEMON_OPTIONS_H_

#include <ostream>
#include <string>

namespace ppsim::daemon {

struct DaemonOptions {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";
  std::string data_dir = "./ppsim-data";
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error | critical | off
  std::string ready_file;           // "" = none
  std::string config;               // the YAML file the rest came from, if any
};

// Exit status for a bad flag, a bad config file or a bad value (sysexits' EX_USAGE, as ppctl).
inline constexpr int kExitUsage = 64;

// Fills `out` and returns -1 when the daemon should run. Otherwise returns the exit status
// after printing --help / --version to `out_stream` (0) or an error naming the flag or key to
// `err_stream` (kExitUsage).
int ParseDaemonOptions(int argc, const char* const* argv, DaemonOptions* out,
                       std::ostream& out_stream, std::ostream& err_stream);

// "" when `value` is HOST:PORT with a port in 0..65535 (0 = pick a free one), else why not.
std::string CheckHostPort(const std::string& value);

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_DAEMON_OPTIONS_H_
