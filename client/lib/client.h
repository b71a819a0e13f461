// File: client/lib/client.h
// libppsim_client: a blocking C++ client for ppsimd (docs/design.md §1, §4), used by ppctl and the
// tests. One Client holds one channel and may be shared by threads. Every call returns
// absl::Status/StatusOr with the server's gRPC code and message (status.h); each unary call
// has a deadline (Options::rpc_timeout), streams have none.
//
//   absl::StatusOr<std::unique_ptr<Client>> c =
//       Client::Connect("127.0.0.1:50051", absl::Seconds(5));
//   if (!c.ok()) return c.status();                  // UNAVAILABLE naming the target
//   v1::LabConfig config;
//   config.set_profile("v6.8");
//   absl::StatusOr<uint64_t> lab = (*c)->CreateLab("mine", config);
//   absl::StatusOr<std::vector<v1::Op>> ops = ParseOpLines("add_device\n"   // op_line.h
//                                                          "bind_driver device=1\n");
//   absl::StatusOr<v1::ApplyResponse> r = (*c)->Apply(*lab, *ops);
//   if (r.ok() && ApplyStatus(*r).ok()) { ... r->results(i) ... }
#ifndef PPSIM_CLIENT_LIB_CLIENT_H_
#define PPSIM_CLIENT_LIB_CLIENT_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/lib/health.h"
#include "client/lib/op_stream.h"
#include "client/lib/status.h"
#include "client/lib/watch.h"
#include "ppsim/v1/service.grpc.pb.h"

namespace ppsim::client {

class Client {
 public:
  struct Options {
    absl::Duration rpc_timeout = absl::Seconds(60);  // deadline of each unary call
    // Keep retrying a refused or failed connection until the timeout (a daemon that is still
    // starting); by default the first failure ends Connect, as grpcurl does.
    bool wait_for_ready = false;

    // Transport security (a ppsimd with --tls-cert; server/service/auth.h). TLS is on when
    // `tls` is true or any file is given. Files are PEM.
    bool tls = false;
    std::string tls_ca;           // CAs that sign ppsimd's certificate; "" = the system's
    std::string tls_cert;         // client certificate, for a ppsimd with --tls-client-ca
    std::string tls_key;          // its private key
    std::string tls_server_name;  // name to check the certificate against; "" = the host
    // Sent as `authorization: Bearer TOKEN` on every call (a ppsimd with --auth-tokens).
    std::string token;

    bool UsesTls() const {
      return tls || !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty();
    }
    // Defaults with the security settings from the environment, the names ppctl's flags also
    // read: PPSIM_TOKEN, PPSIM_TLS_CA, PPSIM_TLS_CERT, PPSIM_TLS_KEY.
    static Options FromEnvironment();
  };

  // Opens a channel to `target` (host:port, or any gRPC target URI) and waits up to `timeout`
  // for it to connect. UNAVAILABLE naming the target when it does not (also for a TLS
  // handshake that fails), INVALID_ARGUMENT naming the option for an unreadable file.
  // Without `options`: Options::FromEnvironment().
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& target,
                                                         absl::Duration timeout);
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& target,
                                                         absl::Duration timeout,
                                                         const Options& options);

  const std::string& target() const { return target_; }

  // LabService.
  absl::StatusOr<uint64_t> CreateLab(const std::string& name, const v1::LabConfig& config);
  absl::Status DeleteLab(uint64_t lab);
  absl::StatusOr<std::vector<v1::LabInfo>> ListLabs();
  absl::StatusOr<v1::LabInfo> GetLab(uint64_t lab);
  absl::StatusOr<v1::ExportTraceResponse> ExportTrace(uint64_t lab);
  absl::StatusOr<v1::ReplayTraceResponse> ReplayTrace(const v1::LabConfig& config,
                                                      const std::string& jsonl,
                                                      uint64_t expected_digest);

  // OpsService. A rejected op is not an RPC error: it is in the response (ApplyStatus()).
  //
  // `request_id` (printable ASCII, at most 128 bytes; "" = none) makes a retry safe: when an
  // Apply fails without an answer (UNAVAILABLE: the daemon restarted or the connection broke;
  // DEADLINE_EXCEEDED; CANCELLED), send the same ops under the same id. If the lab applied
  // them, the answer has `replayed` set and says what the first apply did (`applied`,
  // `rejected`, `digest`; no `results`), and nothing runs twice; if it did not, they run now.
  // A lab remembers its last 1024 ids, so retry before sending 1024 more batches to it. An
  // answer whose `rejected` code is UNAVAILABLE or CANCELLED was cut by the daemon's shutdown
  // or the call's cancellation: ops[0..applied) ran, send the rest as a new batch (new id).
  absl::StatusOr<v1::ApplyResponse> Apply(uint64_t lab, absl::Span<const v1::Op> ops,
                                          const std::string& request_id = "");
  // A bidirectional session for high op rates (op_stream.h).
  absl::StatusOr<std::unique_ptr<OpStream>> OpenStream();

  // QueryService.
  absl::StatusOr<v1::PoolInfo> GetPool(uint64_t lab, uint32_t pool);
  absl::StatusOr<std::vector<v1::PoolInfo>> ListPools(uint64_t lab, bool all = false);
  absl::StatusOr<v1::PageInfo> GetPage(uint64_t lab, uint64_t pfn);
  // `id` "" = every violation id; `limit` 0 = every stored record.
  absl::StatusOr<v1::ListViolationsResponse> ListViolations(uint64_t lab,
                                                            const std::string& id = "",
                                                            uint32_t limit = 0);
  // Events of `lab` (0 = every lab) of `kinds` (empty = all) go to `on_event` on a gRPC thread
  // until the server ends the stream or WatchStream::Cancel() (watch.h).
  absl::StatusOr<std::unique_ptr<WatchStream>> Watch(uint64_t lab, std::vector<v1::EventKind> kinds,
                                                     WatchStream::Callback on_event);

  // FaultService.
  absl::Status SetFault(uint64_t lab, const v1::SetFault& fault);
  absl::Status ClearFaults(uint64_t lab, const std::string& site = "");

  // grpc.health.v1.Health/Check; `service` "" = the server as a whole (health.h).
  absl::StatusOr<ServingStatus> Health(const std::string& service = "");

 private:
  Client(std::string target, std::shared_ptr<grpc::Channel> channel, const Options& options);
  // A context whose deadline is rpc_timeout from now.
  std::unique_ptr<grpc::ClientContext> UnaryContext() const;

  std::string target_;
  Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LabService::Stub> labs_;
  std::unique_ptr<v1::OpsService::Stub> ops_;
  std::unique_ptr<v1::QueryService::Stub> query_;
  std::unique_ptr<v1::FaultService::Stub> faults_;
};

}  // namespace ppsim::client

#endif  // PPSIM_CLIENT_LIB_CLIENT_H_
