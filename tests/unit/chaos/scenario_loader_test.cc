// client/chaos/scenario_loader: every malformed file in testdata/ is rejected before anything
// runs, with the file, the right line, the field path and what was expected.
#include "client/chaos/scenario_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

const std::string kData = std::string(PPSIM_SOURCE_DIR) + "/tests/unit/chaos/testdata/";

struct Bad {
  const char* file;
  const char* where;  // "file:line: path"
  const char* what;
};

class MalformedScenarioTest : public ::testing::TestWithParam<Bad> {};

TEST_P(MalformedScenarioTest, IsRejectedWithLineFieldAndExpectation) {
  const Bad& b = GetParam();
  absl::StatusOr<Scenario> s = LoadScenarioFile(kData + b.file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(kData + b.where));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(b.what));
}

INSTANTIATE_TEST_SUITE_P(
    Testdata, MalformedScenarioTest,
    ::testing::Values(
        Bad{"bad-repeat.yaml", "bad-repeat.yaml:5: steps[1].repeat",
            "expected a positive integer, got \"-1\""},
        Bad{"unknown-top-key.yaml", "unknown-top-key.yaml:2: stesp", "unknown key"},
        Bad{"unknown-step-field.yaml", "unknown-step-field.yaml:7: steps[1].flgas",
            "unknown key (expected op, repeat, as, ctx or a field of bind_driver)"},
        Bad{"unbound-ref.yaml", "unbound-ref.yaml:4: steps[1]",
            "$dev: no earlier step has `as: dev`"},
        Bad{"bad-violation-id.yaml", "bad-violation-id.yaml:5: expect.legacy.occur[1]",
            "expected a violation id PP001..PP017, got \"PP999\""},
        Bad{"bad-strategy.yaml", "bad-strategy.yaml:2: strategies[1]",
            "expected a teardown strategy"},
        Bad{"bad-op.yaml", "bad-op.yaml:4: steps[1]", "has no field cout"},
        Bad{"bad-duration.yaml", "bad-duration.yaml:5: liveness.advance",
            "expected a duration"},
        Bad{"bad-iommu.yaml", "bad-iommu.yaml:4: lab.iommu",
            "expected intel, ppc-ddw or passthrough, got \"amd\""},
        Bad{"expect-unknown-strategy.yaml", "expect-unknown-strategy.yaml:4: expect.scan",
            "expected `default` or one of the scenario's strategies"},
        Bad{"bad-profile.yaml", "bad-profile.yaml:3: lab", "v9.99"},
        Bad{"bad-syntax.json", "bad-syntax.json:5:", "not valid YAML or JSON"},
        Bad{"bad-chaos-weight.yaml", "bad-chaos-weight.yaml:6: chaos.weights.kfree_skb",
            "expected a non-negative number, got \"-2\""},
        Bad{"missing-name.yaml", "missing-name.yaml:1: name", "missing"}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.file;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

TEST(ScenarioLoaderTest, MissingFileIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(LoadScenarioFile(kData + "nope.yaml").status()));
}

TEST(ScenarioLoaderTest, ReadsEveryPart) {
  absl::StatusOr<Scenario> s = LoadScenarioText(R"(
name: all
description: every part
profile: v6.8
lab: {ram: 8G, iommu: ppc-ddw, strict: true, cpus: 2, numa_nodes: 1, seed: 42,
      profile_switches: {gro_refuses_pp_mix: "false"}, default_strategy: legacy}
strategies: [legacy, tce-wait]
expect:
  legacy: {occur: [PP005], none: [PP001]}
  default: none
steps:
  - op: add_device
    as: dev
  - op: bind_driver
    device: $dev
    flags: 1
    ctx: process:0
    repeat: 1
    as: nic
  - page_pool_alloc_pages pool=$nic.pools[0] @softirq:0
chaos:
  ops: 1000
  duration: 5s
  weights: {page_pool_alloc_pages: 3, kfree_skb: 1}
  faults: [{site: fail_dma_map, probability: "0.1"}]
liveness: {advance: 2s}
sometimes: [pool-detached]
)",
                                                "all.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "all");
  EXPECT_EQ(s->lab.ram_bytes, uint64_t{8} << 30);
  EXPECT_EQ(s->lab.seed, 42u);
  ASSERT_EQ(s->lab.profile_switches.size(), 1u);
  EXPECT_EQ(s->strategies, (std::vector<std::string>{"legacy", "tce-wait"}));
  EXPECT_EQ(s->ExpectFor("legacy")->occur, std::vector<std::string>{"PP005"});
  EXPECT_EQ(s->ExpectFor("legacy")->forbid, std::vector<std::string>{"PP001"});
  EXPECT_TRUE(s->ExpectFor("tce-wait")->none);
  ASSERT_EQ(s->steps.size(), 3u);
  EXPECT_EQ(s->steps[1].op_line, "bind_driver device=$dev flags=1 @process:0");
  EXPECT_EQ(s->steps[1].as, "nic");
  EXPECT_EQ(s->steps[1].loc.line, 14);  // the text starts with a newline
  ASSERT_TRUE(s->chaos.has_value());
  EXPECT_EQ(s->chaos->ops, 1000u);
  EXPECT_EQ(s->chaos->faults.at(0).at("site"), "fail_dma_map");
  EXPECT_EQ(s->liveness->advance_ns, 2'000'000'000);
  EXPECT_EQ(s->sometimes, std::vector<std::string>{"pool-detached"});
  const v1::LabConfig c = LabConfigFor(*s, "tce-wait");
  EXPECT_EQ(c.default_strategy(), "tce-wait");
  EXPECT_EQ(c.iommu_model(), "ppc-ddw");
}

TEST(ScenarioLoaderTest, JsonIsAccepted) {
  absl::StatusOr<Scenario> s = LoadScenarioText(
      R"({"name": "j", "steps": ["add_device", {"op": "advance_time", "ns": "1s", "repeat": 2}]})",
      "j.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->steps[1].repeat, 2u);
}

}  // namespace
}  // namespace ppsim::chaos
