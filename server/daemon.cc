#include "server/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "server/logging.h"
#include "server/metrics/metrics.h"
#include "server/metrics_server.h"
#include "server/metrics_web_config.h"
#include "server/service/auth.h"
#include "server/service/event_hub.h"
#include "server/service/kernel_log_sink.h"
#include "server/service/lab_registry.h"
#include "server/service/quota.h"
#include "server/service/services.h"
#include "server/service_metrics.h"
#include "server/store/journal.h"
#include "spdlog/spdlog.h"

#ifndef PPSIM_VERSION
#define PPSIM_VERSION "dev"
#endif

namespace ppsim::daemon {

namespace {

// In-flight calls get this long after a signal before they are cancelled. Kubernetes'
// terminationGracePeriodSeconds (30 s by default) must stay above it.
constexpr std::chrono::seconds kShutdownGrace(5);

// HOST of a HOST:PORT that CheckHostPort accepted.
std::string HostOf(const std::string& host_port) {
  return host_port.substr(0, host_port.rfind(':'));
}

// A temp file in the same directory, then rename(2): whoever polls for `path` sees nothing or
// the whole file, never half of it.
absl::Status WriteAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << content;
    f.close();
    if (!f) {
      return absl::UnavailableError(absl::StrCat("ready-file: cannot write \"", tmp, "\""));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return absl::UnavailableError(
        absl::StrCat("ready-file: cannot rename to \"", path, "\": ", ec.message()));
  }
  return absl::OkStatus();
}

// Quota limits from the flags, which ParseDaemonOptions has already checked.
service::QuotaLimits LimitsFrom(const DaemonOptions& o) {
  auto n = [](const std::string& v) { return service::ParseSize(v).value_or(0); };
  service::QuotaLimits l;
  l.labs = n(o.max_labs);
  l.lab_ram_bytes = n(o.max_lab_ram);
  l.lab_frames = n(o.max_lab_frames);
  l.batch_ops = n(o.max_batch_ops);
  l.watch_streams = n(o.max_watch_streams);
  l.ops_per_second = n(o.max_ops_per_second);
  l.memory_cap_bytes = n(o.memory_cap);
  return l;
}

// Who may call (auth.h): the token file and the admins; nullopt after logging why not.
std::optional<service::Authenticator> MakeAuthenticator(const DaemonOptions& o) {
  service::Authenticator::Config c;
  if (!o.auth_tokens.empty()) {
    absl::StatusOr<std::vector<service::TokenEntry>> tokens = service::LoadTokenFile(o.auth_tokens);
    if (!tokens.ok()) {
      spdlog::error("{}", std::string(tokens.status().message()));
      return std::nullopt;
    }
    c.tokens = *std::move(tokens);
  }
  c.client_certs = !o.tls_client_ca.empty();
  for (absl::string_view a : absl::StrSplit(o.admin_identities, ',', absl::SkipWhitespace())) {
    c.admins.emplace_back(absl::StripAsciiWhitespace(a));
  }
  return service::Authenticator(std::move(c));
}

}  // namespace

sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int RunDaemon(const DaemonOptions& o, const sigset_t& signals) {
  spdlog::info("ppsimd {} starting (config file: {})", PPSIM_VERSION,
               o.config.empty() ? "none" : o.config);
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    spdlog::error("data-dir: cannot create \"{}\": {}", o.data_dir, ec.message());
    return kExitRuntime;
  }

  if (std::string err = CheckTransportSecurity(o); !err.empty()) {
    spdlog::error("{}", err);
    return kExitUsage;
  }
  absl::StatusOr<MetricsWebConfig> web = MetricsWebConfig{};
  if (!o.metrics_web_config.empty()) web = LoadMetricsWebConfig(o.metrics_web_config);
  if (!web.ok()) {
    spdlog::error("{}", std::string(web.status().message()));
    return kExitUsage;
  }
  if (std::string err = CheckMetricsSecurity(o.metrics_listen, *web, o.metrics_insecure == "true");
      !err.empty()) {
    spdlog::error("{}", err);
    return kExitUsage;
  }
  std::optional<service::Authenticator> auth = MakeAuthenticator(o);
  if (!auth) return kExitUsage;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      service::MakeServerCredentials(o.tls_cert, o.tls_key, o.tls_client_ca);
  if (!credentials.ok()) {
    spdlog::error("{}", std::string(credentials.status().message()));
    return kExitUsage;
  }
  service::Quota quota(LimitsFrom(o));

  // The journal (docs/design.md §7, server/store/journal.h): opened before anything is served,
  // and every lab it holds rebuilt before the first RPC can see the registry.
  std::unique_ptr<store::Journal> journal;
  if (o.durability == "none") {
    spdlog::warn("durability=none: no journal; labs, ops and violations die with this process");
  } else {
    const std::string path =
        (std::filesystem::path(o.data_dir) / store::kJournalFileName).string();
    absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(
        path, o.durability == "full" ? store::Journal::Sync::kFull
                                     : store::Journal::Sync::kNormal);
    if (!j.ok()) {
      spdlog::error("data-dir: {}", std::string(j.status().message()));
      return kExitRuntime;
    }
    journal = *std::move(j);
  }
  service::EventHub hub;
  service::LabRegistry labs(&hub, journal.get());
  if (journal != nullptr) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<store::RecoveryReport> r = labs.Recover();
    if (!r.ok()) {
      spdlog::error("data-dir: cannot recover the labs: {}", std::string(r.status().message()));
      return kExitRuntime;
    }
    for (const store::RecoveredLab& l : r->labs) {
      spdlog::debug("journal: lab {} rebuilt: {} ops in {} batches, digest {:016x}{}", l.id,
                    l.ops, l.batches, l.digest, l.problem.empty() ? "" : " (DIVERGED)");
    }
    spdlog::info("journal {} (durability={}): {} labs rebuilt from {} ops in {} ms, {} diverged, "
                 "{} deleted; next lab id {}",
                 journal->path(), o.durability, r->labs.size(),
                 r->ops,
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count(),
                 r->mismatched, r->deleted, r->next_id);
    // Rebuilt labs count against their owners and are theirs to Watch, as if just created.
    // Never refuses; an identity left over --max-labs is logged at warn (quota.h).
    quota.AdoptLabs(labs);
  }
  service::KernelLogSink kernel_log(KernelLogger());
  (void)hub.Subscribe(&kernel_log);  // cannot fail: the hub closes only at shutdown

  // Metrics first: if their port is taken we stop before announcing anything.
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::RpcMetrics rpc_metrics(*registry);
  RpcMetricsObserver rpc_observer(&rpc_metrics);
  RegistryLabSource lab_source(&labs);
  std::shared_ptr<prometheus::Collectable> lab_metrics = metrics::MakeLabCollectable(&lab_source);
  absl::StatusOr<std::unique_ptr<MetricsServer>> made =
      StartMetricsServer(o.metrics_listen, *web, {registry, lab_metrics});
  if (!made.ok()) {
    spdlog::error("{}", std::string(made.status().message()));
    return kExitRuntime;
  }
  std::unique_ptr<MetricsServer> exposer = *std::move(made);

  service::Services services(
      &labs, &hub, &rpc_observer,
      service::CallPolicy{&*auth, &quota,
                          static_cast<int>(service::ParseSize(o.max_message_bytes).value_or(
                              service::kMaxMessageBytes))});
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(o.listen, *credentials, &grpc_port);
  services.AddTo(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    spdlog::error("listen: cannot listen on {} (address in use or not local?)", o.listen);
    return kExitRuntime;
  }
  for (const std::string& name : service::Services::Names()) {
    server->GetHealthCheckService()->SetServingStatus(name, true);
  }

  const std::string grpc_addr = absl::StrCat(HostOf(o.listen), ":", grpc_port);
  const std::string metrics_addr = absl::StrCat(HostOf(o.metrics_listen), ":", exposer->port());
  spdlog::info("serving gRPC on {}, metrics on {}://{}/metrics, data in {}", grpc_addr,
               web->tls() ? "https" : "http", metrics_addr, o.data_dir);
  spdlog::info("metrics: {}{}", web->tls() ? "TLS" : "plaintext",
               web->users.empty() ? "" : absl::StrCat(", basic auth (", web->users.size(), " users)"));
  if (!web->tls() && !IsLoopbackListen(o.metrics_listen)) {
    spdlog::warn("metrics: plaintext /metrics on non-loopback {} (--metrics-insecure): every "
                 "tenant's lab names are readable there",
                 metrics_addr);
  }
  spdlog::info("security: {}{}, callers {}", o.tls_cert.empty() ? "plaintext" : "TLS",
               o.tls_client_ca.empty() ? "" : " + client certificates (mTLS)",
               auth->closed() ? "must authenticate (grpc.health.v1 exempt)"
                              : "anonymous (no --auth-tokens, no --tls-client-ca)");
  // What the daemon says about how it serves is in the log before it says it is ready: the
  // stdout sink is block-buffered into a file or pipe (a log collector, a test).
  spdlog::default_logger()->flush();
  if (!o.ready_file.empty()) {
    const nlohmann::json ready = {
        {"grpc", grpc_addr}, {"metrics", metrics_addr}, {"pid", getpid()}};
    if (absl::Status s = WriteAtomically(o.ready_file, ready.dump() + "\n"); !s.ok()) {
      spdlog::error("{}", std::string(s.message()));
      server->Shutdown();
      server->Wait();
      return kExitRuntime;
    }
  }

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("{} received: shutting down (in-flight calls get {} s)", sigabbrev_np(sig),
                 kShutdownGrace.count());
    // Running batches stop at their next op and answer with how far they got; new ones are
    // refused (lab_registry.h, Drain). Then the grace is for answers, not for ops.
    labs.Drain();
    server->GetHealthCheckService()->Shutdown();  // NOT_SERVING, so probes stop routing here
    hub.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "ppsimd: shutting down"));
    server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  });
  server->Wait();
  stopper.join();
  spdlog::debug("gRPC server stopped");
  // Right away: a stale file would point the next reader at a closed port while the metrics
  // server below takes its time to stop.
  if (!o.ready_file.empty()) {
    std::error_code ignored;
    std::filesystem::remove(o.ready_file, ignored);
  }

  hub.Unsubscribe(&kernel_log);
  exposer.reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace ppsim::daemon
