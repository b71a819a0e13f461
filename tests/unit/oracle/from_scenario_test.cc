// client/oracle/from_scenario.h: catalog scenarios translated into the oracle's op language.
#include "client/oracle/from_scenario.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/chaos/scenario_loader.h"
#include "client/oracle/ops_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<CatalogSequence> Translate(const char* yaml) {
  absl::StatusOr<chaos::Scenario> s = chaos::LoadScenarioText(yaml, "t.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return s.status();
  return TranslateScenario(*s);
}

std::vector<std::string> Ops(const CatalogSequence& c) {
  std::vector<std::string> out;
  for (const std::string& l : c.lines) {
    if (l.empty() || l[0] != '#') out.push_back(l);
  }
  return out;
}

// The probe is the model's BindDriver + NetdevOpen (server/sim/device.cc): netdev, NAPI
// enabled, then the queue's pool on the device, NAPI and netdev; the remove is ndo_stop
// (napi_disable, destroy) and unregister. Ids become creation-order indices; @softirq:0 is
// @bh (no poll runs), @process:0 is @process.
TEST(FromScenarioTest, TranslatesADriversProbeSkbsAndRemove) {
  absl::StatusOr<CatalogSequence> c = Translate(R"(
name: small
profile: v6.8
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev flags=1 pool_size=128
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] count=3 @softirq:0
    as: pages
  - op: skb_build frags=$pages.pages[1],$pages.pages[2]+0:1024 @softirq:0
    as: skb
  - op: skb_clone skb=$skb @softirq:0
    as: clone
  - get_page page=$pages.pages[1]
  - kfree_skb skb=$clone @softirq:0
  - kfree_skb skb=$skb @softirq:0
  - put_page page=$pages.pages[1]
  - page_pool_put_page page=$pages.pages[0] allow_direct=true @process:0
  - unbind_driver device=$dev
liveness:
  advance: 2s
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "catalog-small");
  EXPECT_THAT(Ops(*c),
              ElementsAre("add_device", "netdev_register", "napi_add netdev=1",
                          "napi_enable napi=1",
                          "page_pool_create device=1 flags=1 pool_size=128 napi=1 netdev=1",
                          "page_pool_alloc_pages pool=1 count=3 @bh",
                          "skb_build frags=2,3:1024 @bh", "skb_clone skb=1 @bh",
                          "get_page page=2 @process", "kfree_skb skb=2 @bh",
                          "kfree_skb skb=1 @bh", "put_page page=2 @process",
                          "page_pool_put_page page=1 allow_direct=true @process",
                          "napi_disable napi=1", "page_pool_destroy pool=1",
                          "netdev_unregister netdev=1", "advance_time ns=2000000000"));
  EXPECT_EQ(c->ops, 17);
  // The file parses as the module's op language, and says where it came from.
  absl::StatusOr<OpsFile> f = ParseOpsFile("catalog-small.ops", c->Text());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->ops.size(), 17u);
  EXPECT_THAT(c->Text(), HasSubstr("# catalog scenario small"));
  EXPECT_THAT(c->Text(), HasSubstr("model profile v6.8"));
  EXPECT_THAT(c->Text(), HasSubstr("# steps[1]: bind_driver device=$dev flags=1 pool_size=128"));
}

// netdev_up/down of a driver bound down: the pool comes and goes with ndo_open/ndo_stop.
TEST(FromScenarioTest, NetdevUpAndDownAreTheDriversOpenAndStop) {
  absl::StatusOr<CatalogSequence> c = Translate(R"(
name: updown
steps:
  - op: add_device
    as: dev
  - bind_driver device=$dev flags=0 up=false
  - netdev_up device=$dev
  - netdev_down device=$dev
  - netdev_up device=$dev
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(Ops(*c), ElementsAre("add_device", "netdev_register", "napi_add netdev=1",
                                   "napi_enable napi=1",
                                   "page_pool_create flags=0 pool_size=1024 napi=1 netdev=1",
                                   "napi_disable napi=1", "page_pool_destroy pool=1",
                                   "napi_enable napi=1",
                                   "page_pool_create flags=0 pool_size=1024 napi=1 netdev=1"));
}

// Anything the module cannot express refuses the whole scenario, naming file, step and op.
TEST(FromScenarioTest, RefusalNamesTheScenarioTheStepAndTheOp) {
  absl::StatusOr<CatalogSequence> c = Translate(R"(
name: twocpus
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] @softirq:0
    as: p
  - page_pool_put_page page=$p @softirq:1
)");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsUnimplemented(c.status())) << c.status();
  EXPECT_THAT(c.status().message(), HasSubstr("t.yaml:10: scenario twocpus: steps[3]: "
                                              "\"page_pool_put_page page=$p @softirq:1\""));
  EXPECT_THAT(c.status().message(), HasSubstr("CPU 1"));

  c = Translate(R"(
name: dma
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] @softirq:0
    as: p
  - device_dma device=$dev iova=$p.dma[0]
)");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("steps[3]"));
  EXPECT_THAT(c.status().message(), HasSubstr("no oracle op for device_dma"));

  c = Translate(R"(
name: chaotic
chaos: {ops: 10}
steps:
  - add_device
)");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("scenario chaotic: chaos"));
}

// What the model accepts but the module refuses (a page it no longer holds a pool reference
// to) refuses the scenario too: the check runs the translation on the oracle's model.
TEST(FromScenarioTest, AnOpTheModuleRefusesRefusesTheScenario) {
  absl::StatusOr<CatalogSequence> c = Translate(R"(
name: doubleput
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0
    as: p
  - page_pool_put_page page=$p.pages[0] @process:0
  - page_pool_put_page page=$p.pages[0] @process:0
)");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsUnimplemented(c.status())) << c.status();
  EXPECT_THAT(c.status().message(), HasSubstr("steps[4]"));
  EXPECT_THAT(c.status().message(), HasSubstr("the module refuses it"));
}

// tests/oracle/sequences/catalog-*.ops are the translations of today's catalog, checked on
// the kernels: each is still exactly what its scenario translates to.
TEST(FromScenarioTest, TheCheckedInCatalogSequencesAreTheirScenariosTranslations) {
  const std::string root = PPSIM_SOURCE_DIR;
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(root + "/tests/oracle/sequences")) {
    const std::string stem = e.path().stem().string();
    if (stem.rfind("catalog-", 0) != 0) continue;
    const std::string yaml = root + "/client/scenarios/" + stem.substr(8) + ".yaml";
    absl::StatusOr<CatalogSequence> c = TranslateScenarioFile(yaml);
    ASSERT_TRUE(c.ok()) << yaml << ": " << c.status();
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(c->Text(), text.str()) << e.path();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace ppsim::oracle
