// client/oracle/model_run.h: oracle ops translated to the model, indices mapped to model ids.
#include "client/oracle/model_run.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct SequenceRun {
  std::unique_ptr<ModelRun> run;
  std::vector<OpObs> obs;
};

SequenceRun RunText(const char* text, const std::string& profile = "v6.8") {
  absl::StatusOr<OpsFile> f = ParseOpsFile("t.ops", text);
  EXPECT_TRUE(f.ok()) << f.status();
  SequenceRun r;
  r.run = ModelRun::Create(profile, *f).value();
  for (size_t i = 0; i < f->ops.size(); ++i) {
    absl::StatusOr<OpObs> o = r.run->Apply(f->ops[i], static_cast<int>(i));
    EXPECT_TRUE(o.ok()) << o.status();
    if (o.ok()) r.obs.push_back(*o);
  }
  return r;
}

// The model's ndo_open creates a driver pool per queue (server/sim/device.cc NetdevOpen), so
// after napi_enable the model's pool ids no longer follow the sequence's indices: the map must
// find each index's own pool.
TEST(ModelRunTest, IndicesMapToTheModelObjectsTheyCreated) {
  SequenceRun r = RunText(
      "netdev_register\n"
      "napi_add netdev=1\n"
      "napi_enable napi=1\n"
      "page_pool_create netdev=1 napi=1 pool_size=128\n"
      "page_pool_create pool_size=64\n"
      "page_pool_alloc_pages pool=2 count=2\n"
      "page_pool_alloc_pages pool=1 count=1 @napi\n");
  for (const OpObs& o : r.obs) EXPECT_FALSE(o.refused) << o.line << ": " << o.err;
  const IndexMap& m = r.run->map();
  sim::Lab& lab = r.run->lab();
  ASSERT_EQ(m.pools(), 2);
  EXPECT_GT(lab.AllPools().size(), 2u);  // the driver's own pool is the model's too
  const sim::PoolInfo p1 = lab.GetPool(m.pool(1).id).value();
  const sim::PoolInfo p2 = lab.GetPool(m.pool(2).id).value();
  EXPECT_EQ(p1.ring_size, 128u);
  EXPECT_EQ(p2.ring_size, 64u);
  ASSERT_TRUE(p1.ifindex.has_value());
  EXPECT_EQ(m.NetdevOfIfindex(*p1.ifindex), 1);
  EXPECT_EQ(m.NapiOfId(p1.napi_id), 1);
  EXPECT_EQ(p2.ifindex, std::nullopt);  // no netdev: invisible to netlink
  ASSERT_EQ(m.pages(), 3);
  EXPECT_EQ(m.page(1).pool, 2);
  EXPECT_EQ(m.page(2).pool, 2);
  EXPECT_EQ(m.page(3).pool, 1);
  for (int page = 1; page <= 3; ++page) {
    const sim::PageInfo info = lab.GetPage(m.page(page).handle.pfn).value();
    EXPECT_EQ(info.pool, m.pool(m.page(page).pool).id) << "page " << page;
  }
  // The observation names pools and pages by index.
  const OpObs& last = r.obs.back();
  ASSERT_EQ(last.pools.size(), 2u);
  EXPECT_EQ(last.pools[0].ring_size, 128);
  ASSERT_EQ(last.pages.size(), 1u);
  EXPECT_EQ(last.pages[0].page, 3);
  ASSERT_TRUE(last.netlink.has_value());
  ASSERT_EQ(last.netlink->size(), 1u);  // pool 1 only: pool 2 has no netdev
  EXPECT_EQ((*last.netlink)[0].ifindex, "netdev 1");
  EXPECT_EQ((*last.netlink)[0].napi, "napi 1");
}

// What tests/oracle/kmod/ppo_pool.c refuses is refused without reaching the model.
TEST(ModelRunTest, RefusesWhatTheModuleRefusesWithoutApplyingIt) {
  SequenceRun r = RunText(
      "page_pool_create pool_size=64\n"
      "page_pool_alloc_pages pool=1 count=1\n"
      "page_pool_put_page page=1\n"
      "page_pool_put_page page=1\n"           // returned already
      "put_page page=1\n"                     // no get_page reference
      "page_pool_destroy pool=1\n"
      "page_pool_destroy pool=1\n"            // already destroyed
      "page_pool_alloc_pages pool=1\n"        // destroyed
      "page_pool_alloc_pages pool=2\n"        // no such pool
      "page_pool_alloc_pages pool=1 @napi\n");  // (destroyed first)
  ASSERT_EQ(r.obs.size(), 10u);
  const bool refused[] = {false, false, false, true, true, false, true, true, true, true};
  for (size_t i = 0; i < r.obs.size(); ++i) {
    EXPECT_EQ(r.obs[i].refused, refused[i]) << r.obs[i].line << ": " << r.obs[i].err;
  }
  EXPECT_THAT(r.obs[3].err, HasSubstr("holds no pool reference"));
  EXPECT_THAT(r.obs[8].err, HasSubstr("pool: 2 is not one of this sequence's pools"));
  // The refused ones never reached the lab (whose first op reserves x86's low memory).
  std::vector<std::string> applied;
  for (const sim::Op& op : r.run->lab().trace()) applied.emplace_back(sim::OpName(op.body));
  EXPECT_THAT(applied, ElementsAre("alloc_page", "page_pool_create", "page_pool_alloc_pages",
                                   "page_pool_put_page", "page_pool_destroy"));
}

TEST(ModelRunTest, NapiOpsOfANetdevWithTwoNapisCannotBeExpressed) {
  absl::StatusOr<OpsFile> f = ParseOpsFile("t.ops",
                                           "netdev_register\n"
                                           "napi_add netdev=1\n"
                                           "napi_add netdev=1\n"
                                           "napi_enable napi=2\n");
  ASSERT_TRUE(f.ok());
  std::unique_ptr<ModelRun> run = ModelRun::Create("v6.8", *f).value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run->Apply(f->ops[i], i).ok());
  absl::StatusOr<OpObs> o = run->Apply(f->ops[3], 3);
  ASSERT_TRUE(absl::IsUnimplemented(o.status())) << o.status();
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("line 4: napi_enable napi=2"));
}

TEST(ModelRunTest, UnknownProfileIsRefused) {
  absl::StatusOr<OpsFile> f = ParseOpsFile("t.ops", "observe\n");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ModelRun::Create("v2.6", *f).status()));
}

}  // namespace
}  // namespace ppsim::oracle
