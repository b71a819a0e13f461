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
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "server/logging.h"
#include "server/metrics/metrics.h"
#include "server/service/event_hub.h"
#include "server/service/kernel_log_sink.h"
#include "server/service/lab_registry.h"
#include "server/service/services.h"
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

  service::EventHub hub;
  service::LabRegistry labs(&hub);
  service::KernelLogSink kernel_log(KernelLogger());
  (void)hub.Subscribe(&kernel_log);  // cannot fail: the hub closes only at shutdown

  // Metrics first: if their port is taken we stop before announcing anything.
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::RpcMetrics rpc_metrics(*registry);
  std::shared_ptr<prometheus::Collectable> lab_metrics = metrics::MakeLabCollectable(&labs);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(o.metrics_listen, /*num_threads=*/2);
  } catch (const std::exception& e) {
    spdlog::error("metrics-listen: cannot listen on {}: {}", o.metrics_listen, e.what());
    return kExitRuntime;
  }
  exposer->RegisterCollectable(registry);
  exposer->RegisterCollectable(lab_metrics);
  const std::vector<int> metrics_ports = exposer->GetListeningPorts();
  if (metrics_ports.empty()) {
    spdlog::error("metrics-listen: cannot listen on {}", o.metrics_listen);
    return kExitRuntime;
  }

  service::Services services(&labs, &hub, &rpc_metrics);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(o.listen, grpc::InsecureServerCredentials(), &grpc_port);
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
  const std::string metrics_addr = absl::StrCat(HostOf(o.metrics_listen), ":", metrics_ports[0]);
  spdlog::info("serving gRPC on {}, metrics on http://{}/metrics, data in {}", grpc_addr,
               metrics_addr, o.data_dir);
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
