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

#include "absl/strings/string_view.h"
#include "server/exit_codes.h"

namespace ppsim::daemon {

struct DaemonOptions {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";
  std::string data_dir = "./ppsim-data";
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error | critical | off
  std::string ready_file;           // "" = none
  // The SQLite journal in data_dir (server/store/journal.h): normal = commits survive a
  // killed daemon, full = also a power loss (fsync per batch), none = no journal at all.
  std::string durability = "normal";
  std::string config;               // the YAML file the rest came from, if any

  // Transport security and authentication (server/service/auth.h). Paths; "" = off.
  std::string tls_cert;           // PEM server certificate chain: serve TLS
  std::string tls_key;            // PEM private key of tls_cert
  std::string tls_client_ca;      // PEM CA bundle: verify client certificates (mTLS)
  std::string auth_tokens;        // token file: bearer tokens
  std::string admin_identities;   // comma-separated identities that may use every lab
  std::string insecure_plaintext = "false";  // "true": plaintext on a non-loopback address
  // /metrics security (server/metrics_web_config.h): exporter-toolkit's web-config file, and
  // the switch that allows plaintext on a non-loopback --metrics-listen.
  std::string metrics_web_config;
  std::string metrics_insecure = "false";
  // Quotas per identity and the memory cap (server/service/quota.h): counts and sizes with
  // optional suffixes (64k, 512MiB, 16GiB); 0 = no limit.
  std::string max_labs = "256";
  std::string max_lab_ram = "0";
  std::string max_lab_frames = "4Mi";
  std::string max_batch_ops = "65536";
  std::string max_watch_streams = "64";
  std::string max_ops_per_second = "0";
  std::string memory_cap = "0";
  std::string max_message_bytes = "64MiB";
};

// Plaintext only when asked for (docs/design.md §7). ppsimd serves TLS when --tls-cert is given.
// Without it, it serves plaintext only on a loopback address (127.0.0.0/8, [::1], localhost:
// the default dev setup, the demo and the tests), and refuses any other address (0.0.0.0,
// a pod IP) unless --insecure-plaintext says so, e.g. behind a mesh that encrypts. A
// --tls-client-ca or --tls-key without --tls-cert is an error too. "" or the error.
std::string CheckTransportSecurity(const DaemonOptions& o);

// True when HOST of HOST:PORT is a loopback address: 127.0.0.0/8, [::1] or localhost.
bool IsLoopbackListen(absl::string_view listen);

// Fills `out` and returns -1 when the daemon should run. Otherwise returns the exit status
// after printing --help / --version to `out_stream` (0) or an error naming the flag or key to
// `err_stream` (kExitUsage).
int ParseDaemonOptions(int argc, const char* const* argv, DaemonOptions* out,
                       std::ostream& out_stream, std::ostream& err_stream);

// "" when `value` is HOST:PORT with a port in 0..65535 (0 = pick a free one), else why not.
std::string CheckHostPort(const std::string& value);

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_DAEMON_OPTIONS_H_
