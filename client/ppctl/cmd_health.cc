// `ppctl health`: grpc.health.v1 Check, usable as an exec probe (exit 0 only when SERVING).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

Command AddHealthCommand(CLI::App* root) {
  auto opts = std::make_shared<RemoteOptions>();
  auto service = std::make_shared<std::string>();
  CLI::App* cmd =
      root->add_subcommand(
          "health", absl::StrCat("check ppsimd's health (grpc.health.v1); exit 0 when SERVING, ",
                                 RpcExitCode(absl::StatusCode::kUnavailable), " (", kExitRpcBase,
                                 " + UNAVAILABLE) when not, ",
                                 RpcExitCode(absl::StatusCode::kNotFound), " (", kExitRpcBase,
                                 " + NOT_FOUND) for an unknown service"));
  AddRemoteOptions(cmd, opts.get());
  cmd->add_option("--service", *service,
                  "service name, e.g. ppsim.v1.OpsService; empty = the "
                  "server as a whole");
  return {cmd, [opts, service] {
            absl::StatusOr<std::unique_ptr<client::Client>> c = Dial(*opts);
            if (!c.ok()) return Fail("health", c.status());
            absl::StatusOr<client::ServingStatus> s = (*c)->Health(*service);
            if (!s.ok()) return Fail("health", s.status());
            const std::string name(client::ServingStatusName(*s));
            if (*s != client::ServingStatus::kServing) {
              return Fail("health",
                          absl::UnavailableError(absl::StrCat(
                              opts->target, service->empty() ? "" : " ", *service, " is ", name)));
            }
            std::printf("%s\n", name.c_str());
            return 0;
          }};
}

}  // namespace ppsim::ppctl
