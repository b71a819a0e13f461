// The /metrics HTTP(S) server on --metrics-listen, as the web-config file says
// (metrics_web_config.h). Plaintext is prometheus-cpp's Exposer (CivetWeb). TLS is
// cpp-httplib's SSLServer over OpenSSL: Debian 12's CivetWeb loads OpenSSL at run time against
// the 1.1 API and calls a NULL function pointer on the first request with OpenSSL 3 (seen here:
// SEGV at pc 0 in a CivetWeb worker), so it cannot serve TLS. Both check basic auth against
// the bcrypt users and serve the same collectables in the text format.
#ifndef PPSIM_SERVER_METRICS_SERVER_H_
#define PPSIM_SERVER_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "server/metrics_web_config.h"

namespace ppsim::daemon {

class MetricsServer {
 public:
  virtual ~MetricsServer() = default;  // stops serving
  virtual int port() const = 0;        // the port bound (--metrics-listen may say 0)
};

// Binds `listen` and serves `collectables` on /metrics. Errors name the flag, the address and
// the file (an unreadable key or certificate).
absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsServer(
    const std::string& listen, const MetricsWebConfig& web,
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_METRICS_SERVER_H_
