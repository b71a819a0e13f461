// Security of the /metrics endpoint, in the Prometheus exporter-toolkit's web-config format
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), so
// the file a Prometheus operator already writes for node_exporter works for ppsimd too:
//
//   # --metrics-web-config FILE
//   tls_server_config:
//     cert_file: server.pem     # PEM certificate (chain); relative paths are from FILE's folder
//     key_file: server.key      # PEM private key
//   basic_auth_users:
//     prometheus: $2y$10$...    # bcrypt hashes only (htpasswd -nbB, or Python's crypt)
//
// Keys ppsimd does not implement (client_auth_type, client_ca_file, min_version, cipher_suites,
// http_server_config) are refused by name rather than ignored: a config that asks for client
// certificates must not silently serve without them.
//
// The rule is gRPC's (daemon_options.h, CheckTransportSecurity): a non-loopback
// --metrics-listen needs TLS from this file, or --metrics-insecure (behind a mesh that
// encrypts). Every tenant's lab names are in the series, so plaintext on a pod IP leaks them.
#ifndef PPSIM_SERVER_METRICS_WEB_CONFIG_H_
#define PPSIM_SERVER_METRICS_WEB_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ppsim::daemon {

struct MetricsWebConfig {
  std::string cert_file;  // "" = plaintext
  std::string key_file;
  std::map<std::string, std::string> users;  // user -> bcrypt hash; empty = no basic auth

  bool tls() const { return !cert_file.empty(); }
};

// Reads FILE. Errors name the file, the line and the key: `web.yml:3: tls_server_config.
// key_file: missing`, `web.yml:6: basic_auth_users.alice: not a bcrypt hash ($2a$, $2b$ or
// $2y$)`, `web.yml:2: client_auth_type: not supported by ppsimd`.
absl::StatusOr<MetricsWebConfig> LoadMetricsWebConfig(const std::string& path);

// True when `user` is configured and `password` matches its bcrypt hash (libcrypt's crypt_r,
// which compares the whole hash; the cost is the hash's own, 10 by default).
bool CheckBasicAuth(const MetricsWebConfig& config, const std::string& user,
                    const std::string& password);

// "" when serving /metrics on `listen` with `config` is allowed, else why not (the gRPC rule:
// plaintext only on loopback unless `insecure`).
std::string CheckMetricsSecurity(absl::string_view listen, const MetricsWebConfig& config,
                                 bool insecure);

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_METRICS_WEB_CONFIG_H_
