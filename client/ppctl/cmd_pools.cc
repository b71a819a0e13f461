// `ppctl pools --lab N`: the lab's page pools as `ynl --family netdev --dump page-pool-get`
// shows them (the kernel's netlink attribute names), plus ppsim's strategy and state.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

namespace {

struct PoolsOptions {
  RemoteOptions remote;
  uint64_t lab = 0;
  bool all = false;
  bool json = false;
};

// Netlink omits ifindex for pools orphaned to lo or invisible, and detach-time while attached.
void PrintTable(const std::vector<v1::PoolInfo>& pools) {
  std::printf("%-6s %-8s %-8s %10s %14s %12s  %-20s %s\n", "id", "ifindex", "napi-id", "inflight",
              "inflight-mem", "detach-time", "strategy", "state");
  for (const v1::PoolInfo& p : pools) {
    const std::string ifindex = p.has_ifindex() ? absl::StrCat(p.ifindex()) : "-";
    const std::string detach = p.has_detach_time() ? absl::StrCat(p.detach_time()) : "-";
    std::string state = p.state();
    if (!p.visibility().empty() && p.visibility() != "normal")
      absl::StrAppend(&state, ",", p.visibility());
    std::printf("%-6u %-8s %-8u %10llu %14llu %12s  %-20s %s\n", p.id(), ifindex.c_str(),
                p.napi_id(), static_cast<unsigned long long>(p.inflight()),
                static_cast<unsigned long long>(p.inflight_mem()), detach.c_str(),
                p.strategy().c_str(), state.c_str());
  }
}

}  // namespace

Command AddPoolsCommand(CLI::App* root) {
  auto o = std::make_shared<PoolsOptions>();
  CLI::App* cmd = root->add_subcommand(
      "pools", "list a lab's page pools (the fields of `ynl ... --dump page-pool-get`)");
  AddRemoteOptions(cmd, &o->remote);
  cmd->add_option("--lab", o->lab, "lab id")->required();
  cmd->add_flag("--all", o->all, "also invisible and freed pools (page-pool-get hides them)");
  cmd->add_flag("--json", o->json, "print the ListPoolsResponse as proto JSON, stats included");
  return {cmd, [o] {
            absl::StatusOr<std::unique_ptr<client::Client>> c = Dial(o->remote);
            if (!c.ok()) return Fail("pools", c.status());
            absl::StatusOr<std::vector<v1::PoolInfo>> pools = (*c)->ListPools(o->lab, o->all);
            if (!pools.ok()) return Fail("pools", pools.status());
            if (o->json) {
              v1::ListPoolsResponse r;
              for (const v1::PoolInfo& p : *pools) *r.add_pools() = p;
              std::printf("%s", ToJson(r).c_str());
            } else {
              PrintTable(*pools);
            }
            return 0;
          }};
}

}  // namespace ppsim::ppctl
