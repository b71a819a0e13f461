// Lab::NetlinkDump: NETDEV_CMD_PAGE_POOL_GET's dump as page_pool_user.c
// netdev_nl_page_pool_get_dump walks it: netdevs by ifindex, each netdev's page_pools hlist from
// the head (newest first), and a resume rule that skips a pool whose id is above the last one
// listed on that netdev. After netdev_unregister splices the netdev's list in front of lo's
// (page_pool_unreg_netdev), lo's own pools follow pools with lower ids and vanish from
// every dump, though alive: the oracle's unregister-lo-dump-skips on 6.12.95 and 7.3.4.
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::MustApply;

std::vector<PoolId> Ids(const std::vector<PoolInfo>& pools) {
  std::vector<PoolId> out;
  for (const PoolInfo& p : pools) out.push_back(p.id);
  return out;
}

// A netdev with pools a and b (created in that order) and lo's pool lo created between them.
struct Rig {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId a = 0, lo = 0, b = 0;
};
Rig MakeRig() {
  Rig r;
  r.lab = MakeLab(LabConfig{.profile = "v6.12"});
  r.dev = MustApply(*r.lab, op::AddDevice{}).device;
  const IfIndex ifindex =
      MustApply(*r.lab, op::BindDriver{.device = r.dev, .flags = 0, .up = false}).ifindex;
  r.a = MustApply(*r.lab, op::PagePoolCreate{.netdev = ifindex}).pool;
  r.lo = MustApply(*r.lab, op::PagePoolCreate{.netdev = 1}).pool;
  r.b = MustApply(*r.lab, op::PagePoolCreate{.netdev = ifindex}).pool;
  return r;
}

TEST(NetlinkDumpTest, ListsEachNetdevNewestFirst) {
  Rig r = MakeRig();
  Lab* lab = r.lab.get();
  const PoolId a = r.a, lo = r.lo, b = r.b;
  EXPECT_EQ(Ids(lab->NetlinkDump()), (std::vector<PoolId>{lo, b, a}));
}

TEST(NetlinkDumpTest, AfterUnregisterLosOwnOlderPoolIsSkipped) {
  Rig r = MakeRig();
  Lab* lab = r.lab.get();
  const PoolId a = r.a, lo = r.lo, b = r.b;
  MustApply(*lab, op::UnbindDriver{.device = r.dev});
  // lo's list is now b, a, lo: after a (id 1) the dump skips lo (id 2 > 1).
  EXPECT_EQ(Ids(lab->NetlinkDump()), (std::vector<PoolId>{b, a}));
  EXPECT_TRUE(lab->GetPool(lo).ok());
  EXPECT_EQ(lab->ListPools().size(), 3u) << "pool lo is alive; only the dump misses it";
}

}  // namespace
}  // namespace ppsim::sim
