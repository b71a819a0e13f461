// What every ppctl subcommand that talks to ppsimd shares: --target and --connect-timeout,
// dialing, exit codes (exit_codes.h: a failed RPC exits 64 + its gRPC code, as grpcurl does;
// an unreachable target is UNAVAILABLE, 78), error lines and proto JSON output.
#ifndef PPSIM_CLIENT_PPCTL_REMOTE_H_
#define PPSIM_CLIENT_PPCTL_REMOTE_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/lab_target.h"
#include "client/lib/client.h"
#include "google/protobuf/message.h"

namespace ppsim::ppctl {

// The exit codes, defined in client/chaos/exit_codes.h. The scenario commands (run, chaos,
// soak, compare, replay) exit kExitUnreachable when --target cannot be reached; the RPC
// commands exit kExitRpcBase + UNAVAILABLE instead (ExitCode).
using chaos::kExitInternal;
using chaos::kExitNondeterminism;
using chaos::kExitRpcBase;
using chaos::kExitUnknown;
using chaos::kExitUnreachable;
using chaos::kExitUsage;
using chaos::RpcExitCode;
inline constexpr char kDefaultTarget[] = "127.0.0.1:50051";

struct RemoteOptions {
  std::string target = kDefaultTarget;
  double connect_timeout_s = 5;
  // A secured ppsimd (server/service/auth.h): TLS when --tls or any --tls-* file is given.
  client::Client::Options connection;
};

// Adds --tls, --tls-ca, --tls-cert, --tls-key (also $PPSIM_TLS_CA, _CERT, _KEY),
// --tls-server-name and --token ($PPSIM_TOKEN; the environment keeps the token out of `ps`) to
// `cmd`: every command that can reach a ppsimd has them, the ones with an embedded default too.
void AddSecurityOptions(CLI::App* cmd, client::Client::Options* connection);

// Adds --target (also $PPSIM_TARGET), --connect-timeout and the security options to `cmd`.
void AddRemoteOptions(CLI::App* cmd, RemoteOptions* remote);

absl::StatusOr<std::unique_ptr<client::Client>> Dial(const RemoteOptions& remote);

// Where a scenario command's labs live: in-process when `target` is "", else on that ppsimd
// (`client` is the connection `lab_target` uses, so it is kept alongside).
struct ScenarioTarget {
  std::unique_ptr<client::Client> client;
  std::unique_ptr<chaos::LabTarget> lab_target;
};
absl::StatusOr<ScenarioTarget> OpenScenarioTarget(const std::string& target,
                                                  double connect_timeout_s,
                                                  const client::Client::Options& connection);

// 0 for OK, else 64 + the status code.
int ExitCode(const absl::Status& s);

// Prints "ppctl <command>: <CODE>: <message>" to stderr and returns ExitCode(s).
int Fail(absl::string_view command, const absl::Status& s);

// Prints "ppctl <command>: <message>" to stderr and returns kExitUsage.
int UsageError(absl::string_view command, absl::string_view message);

// Proto JSON (the standard mapping) with zero values printed; indented when `pretty`, else
// on one line (no trailing newline).
std::string ToJson(const google::protobuf::Message& m, bool pretty = true);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_REMOTE_H_
