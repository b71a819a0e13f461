#include "client/ppctl/remote.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace ppsim::ppctl {

void AddRemoteOptions(CLI::App* cmd, RemoteOptions* remote) {
  cmd->add_option("--target", remote->target, "ppsimd address, HOST:PORT")
      ->envname("PPSIM_TARGET")
      ->capture_default_str();
  cmd->add_option("--connect-timeout", remote->connect_timeout_s,
                  "seconds to wait for the connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddSecurityOptions(cmd, &remote->connection);
}

void AddSecurityOptions(CLI::App* cmd, client::Client::Options* remote) {
  cmd->add_flag("--tls", remote->tls, "use TLS, trusting the system's CAs unless --tls-ca");
  cmd->add_option("--tls-ca", remote->tls_ca, "PEM CAs that sign ppsimd's certificate (TLS)")
      ->envname("PPSIM_TLS_CA")
      ->type_name("FILE");
  cmd->add_option("--tls-cert", remote->tls_cert, "PEM client certificate, for mutual TLS")
      ->envname("PPSIM_TLS_CERT")
      ->type_name("FILE");
  cmd->add_option("--tls-key", remote->tls_key, "PEM private key of --tls-cert")
      ->envname("PPSIM_TLS_KEY")
      ->type_name("FILE");
  cmd->add_option("--tls-server-name", remote->tls_server_name,
                  "name to check ppsimd's certificate against (default: the --target host)");
  cmd->add_option("--token", remote->token,
                  "bearer token for a ppsimd with --auth-tokens (prefer $PPSIM_TOKEN)")
      ->envname("PPSIM_TOKEN");
}

absl::StatusOr<std::unique_ptr<client::Client>> Dial(const RemoteOptions& remote) {
  return client::Client::Connect(remote.target, absl::Seconds(remote.connect_timeout_s),
                                 remote.connection);
}

absl::StatusOr<ScenarioTarget> OpenScenarioTarget(const std::string& target,
                                                  double connect_timeout_s,
                                                  const client::Client::Options& connection) {
  ScenarioTarget t;
  if (target.empty()) {
    t.lab_target = chaos::EmbeddedTarget();
    return t;
  }
  absl::StatusOr<std::unique_ptr<client::Client>> c =
      client::Client::Connect(target, absl::Seconds(connect_timeout_s), connection);
  if (!c.ok()) return c.status();
  t.client = *std::move(c);
  t.lab_target = chaos::RemoteTarget(t.client.get());
  return t;
}

int ExitCode(const absl::Status& s) { return s.ok() ? 0 : RpcExitCode(s.code()); }

int Fail(absl::string_view command, const absl::Status& s) {
  std::fprintf(stderr, "ppctl %s: %s: %s\n", std::string(command).c_str(),
               absl::StatusCodeToString(s.code()).c_str(), std::string(s.message()).c_str());
  return ExitCode(s);
}

int UsageError(absl::string_view command, absl::string_view message) {
  std::fprintf(stderr, "ppctl %s: %s\n", std::string(command).c_str(),
               std::string(message).c_str());
  return kExitUsage;
}

std::string ToJson(const google::protobuf::Message& m, bool pretty) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = pretty;
  opts.always_print_primitive_fields = true;
  std::string out;
  const auto s = google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!s.ok()) return absl::StrCat("{\"error\": \"", s.ToString(), "\"}\n");
  return out;
}

}  // namespace ppsim::ppctl
