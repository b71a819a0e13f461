#include "server/metrics_server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace ppsim::daemon {
namespace {

constexpr char kRealm[] = "ppsimd";

// HOST and PORT of a HOST:PORT that CheckHostPort accepted; [v6] loses its brackets.
std::pair<std::string, int> SplitHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, std::stoi(listen.substr(colon + 1))};
}

class CivetMetricsServer final : public MetricsServer {
 public:
  explicit CivetMetricsServer(std::unique_ptr<prometheus::Exposer> e) : exposer_(std::move(e)) {}
  int port() const override { return exposer_->GetListeningPorts().at(0); }

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
};

class TlsMetricsServer final : public MetricsServer {
 public:
  TlsMetricsServer(const MetricsWebConfig& web,
                   std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
      : web_(web),
        collectables_(std::move(collectables)),
        server_(web.cert_file.c_str(), web.key_file.c_str()) {}
  ~TlsMetricsServer() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start(const std::string& listen) {
    if (!server_.is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--metrics-web-config: tls_server_config: cannot load the certificate \"",
          web_.cert_file, "\" with the key \"", web_.key_file, "\" (PEM, matching pair)"));
    }
    SSL_CTX_set_min_proto_version(server_.ssl_context(), TLS1_2_VERSION);
    server_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      Serve(req, res);
    });
    const auto [host, port] = SplitHostPort(listen);
    port_ = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("metrics-listen: cannot listen on ", listen, " (TLS)"));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return absl::OkStatus();
  }
  int port() const override { return port_; }

 private:
  bool Authorized(const httplib::Request& req) const {
    if (web_.users.empty()) return true;
    const std::string h = req.get_header_value("Authorization");
    std::string decoded;
    if (!absl::StartsWith(h, "Basic ") || !absl::Base64Unescape(h.substr(6), &decoded)) {
      return false;
    }
    const size_t colon = decoded.find(':');
    return colon != std::string::npos &&
           CheckBasicAuth(web_, decoded.substr(0, colon), decoded.substr(colon + 1));
  }

  void Serve(const httplib::Request& req, httplib::Response& res) const {
    if (!Authorized(req)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", absl::StrCat("Basic realm=\"", kRealm, "\""));
      res.set_content("Unauthorized\n", "text/plain");
      return;
    }
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : collectables_) {
      std::vector<prometheus::MetricFamily> f = c->Collect();
      families.insert(families.end(), std::make_move_iterator(f.begin()),
                      std::make_move_iterator(f.end()));
    }
    res.set_content(prometheus::TextSerializer().Serialize(families),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  const MetricsWebConfig web_;
  const std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsServer(
    const std::string& listen, const MetricsWebConfig& web,
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  if (web.tls()) {
    auto s = std::make_unique<TlsMetricsServer>(web, std::move(collectables));
    if (absl::Status st = s->Start(listen); !st.ok()) return st;
    return s;
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics-listen: cannot listen on ", listen, ": ", e.what()));
  }
  if (exposer->GetListeningPorts().empty()) {
    return absl::UnavailableError(absl::StrCat("metrics-listen: cannot listen on ", listen));
  }
  for (const auto& c : collectables) exposer->RegisterCollectable(c);
  if (!web.users.empty()) {
    exposer->RegisterAuth(
        [web](const std::string& user, const std::string& password) {
          return CheckBasicAuth(web, user, password);
        },
        kRealm, "/metrics");
  }
  return std::make_unique<CivetMetricsServer>(std::move(exposer));
}

}  // namespace ppsim::daemon
