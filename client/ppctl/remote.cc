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
}

absl::StatusOr<std::unique_ptr<client::Client>> Dial(const RemoteOptions& remote) {
  return client::Client::Connect(remote.target, absl::Seconds(remote.connect_timeout_s));
}

int ExitCode(const absl::Status& s) { return s.ok() ? 0 : kExitUsage + static_cast<int>(s.code()); }

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
