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
            "expected a violation id PP001..PP018, got \"PP999\""},
        Bad{"bad-strategy.yaml", "bad-strategy.yaml:2: strategies[1]",
            "expected a teardown strategy"},
        Bad{"bad-op.yaml", "bad-op.yaml:4: steps[1]", "has no field cout"},
        Bad{"bad-duration.yaml", "bad-duration.yaml:5: liveness.advance",
            "expected a duration"},
        Bad{"bad-iommu.yaml", "bad-iommu.yaml:4: lab.iommu",
            "expected intel, amd, arm-smmu, ppc-ddw or passthrough, got \"sparc-iommu\""},
        Bad{"expect-unknown-strategy.yaml", "expect-unknown-strategy.yaml:4: expect.scan",
            "expected `default` or one of the scenario's strategies"},
        Bad{"bad-syntax.json", "bad-syntax.json:5:", "not valid YAML or JSON"},
        Bad{"bad-chaos-weight.yaml", "bad-chaos-weight.yaml:6: chaos.weights.free",
            "expected a non-negative number, got \"-2\""},
        Bad{"missing-name.yaml", "missing-name.yaml:1: name", "missing"}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.file;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

// issue 21 item 8: a stray byte is an error naming file, line and column before YAML sees it
// (it used to abort ppctl with an uncaught nlohmann type_error while the report was written).
TEST(ScenarioLoaderTest, InvalidUtf8IsRejectedWithItsPosition) {
  const absl::StatusOr<Scenario> s =
      LoadScenarioText("name: a\nsteps:\n  - op: add_device\n    name: \"e\xfe\"\n", "bad.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("bad.yaml:4:13: byte 0xfe is not valid UTF-8"));
}

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
  weights: {alloc: 3, free: 1}
  faults: [{site: fail_dma_map, probability: "0.1"}]
liveness: {advance: 2s}
sometimes: [pool_detached_with_inflight]
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
  EXPECT_EQ(s->sometimes, std::vector<std::string>{"pool_detached_with_inflight"});
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


// The rest of the mistakes a user makes (issue 5): each names the file, the line of the mistake,
// the field path and what was expected.
INSTANTIATE_TEST_SUITE_P(
    MoreTestdata, MalformedScenarioTest,
    ::testing::Values(
        Bad{"bad-type-name.yaml", "bad-type-name.yaml:2: name",
            "expected a string, got a mapping"},
        Bad{"bad-type-seed.yaml", "bad-type-seed.yaml:4: lab.seed",
            "expected a non-negative integer, got \"seven\""},
        Bad{"steps-not-a-list.yaml", "steps-not-a-list.yaml:2: steps",
            "expected a sequence, got \"add_device\""},
        Bad{"bad-op-name.yaml", "bad-op-name.yaml:5: steps[1]", "unknown op \"bind_drvier\""},
        Bad{"bad-op-name-plain.yaml", "bad-op-name-plain.yaml:4: steps[1]",
            "no op named advance_tim (did you mean advance_time?)"},
        Bad{"bad-op-name-mapping.yaml", "bad-op-name-mapping.yaml:4: steps[1].op",
            "expected an op name (ppctl apply --list), got \"page_pool_alloc_pagez\""},
        Bad{"bad-ctx.yaml", "bad-ctx.yaml:4: steps[1]",
            "context \"softirg\" is not one of process, softirq, workqueue"},
        Bad{"bad-ref-accessor.yaml", "bad-ref-accessor.yaml:5: steps[1]",
            "$dev.devise: expected one of pages, dma, skbs, pools, device, pool, ifindex, value"},
        Bad{"bad-as-name.yaml", "bad-as-name.yaml:4: steps[0].as",
            "expected a name of letters, digits and _, got \"my-dev\""},
        Bad{"bad-repeat-zero.yaml", "bad-repeat-zero.yaml:5: steps[1].repeat",
            "expected a positive integer, got \"0\""},
        Bad{"bad-duration-negative.yaml", "bad-duration-negative.yaml:5: liveness.advance",
            "expected a duration (nanoseconds, or a number with ns, us, ms, s, m or h), got \"-2s\""},
        Bad{"bad-default-strategy.yaml", "bad-default-strategy.yaml:4: lab.default_strategy",
            "expected a teardown strategy (legacy, scan, items, dma-tracking, tce-wait, "
            "release-on-destroy), got \"scna\""},
        Bad{"bad-ram.yaml", "bad-ram.yaml:3: lab.ram",
            "expected a size (bytes, or a number with K, M, G or T), got \"64Q\""},
        Bad{"bad-violation-id-none.yaml", "bad-violation-id-none.yaml:5: expect.scan.none[1]",
            "expected a violation id PP001..PP018, got \"PP18\""},
        Bad{"bad-expect-key.yaml", "bad-expect-key.yaml:5: expect.legacy.ocur",
            "unknown key (expected one of occur, none)"},
        Bad{"bad-syntax.yaml", "bad-syntax.yaml:4:",
            "not valid YAML or JSON: end of sequence flow not found"}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.file;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

// Mistakes once reported at the wrong place: a duplicate `as:` was accepted and silently rebound
// the name; an empty file said line 0; the profile mistakes, the RAM size and lab limits were
// reported at the `lab:` line under the path "lab"; a bad value or context on an op line with
// $references only failed when the step ran, after the steps before it.
INSTANTIATE_TEST_SUITE_P(
    LoaderPlaces, MalformedScenarioTest,
    ::testing::Values(
        Bad{"duplicate-as.yaml", "duplicate-as.yaml:6: steps[1].as",
            "\"dev\" is already bound by steps[0] at line 4"},
        Bad{"empty.yaml", "empty.yaml:1:", "the file is empty"},
        Bad{"bad-profile.yaml", "bad-profile.yaml:2: profile",
            "unknown kernel profile \"v9.99\" (expected one of v5.14, v6.1.0, v6.1, v6.8, v6.12, v6.15, v7.3"},
        Bad{"bad-profile-switch.yaml",
            "bad-profile-switch.yaml:6: lab.profile_switches.gro_refuses_pp_mixx",
            "unknown switch \"gro_refuses_pp_mixx\" (expected one of pp_magic_has_dma_index, "},
        Bad{"bad-profile-switch-value.yaml",
            "bad-profile-switch-value.yaml:5: lab.profile_switches.gro_refuses_pp_mix",
            "\"maybe\" is not true or false"},
        Bad{"bad-ram-unaligned.yaml", "bad-ram-unaligned.yaml:4: lab.ram",
            "expected a positive multiple of 4096 bytes (the page size), got \"12.3T\""},
        Bad{"bad-numa-nodes.yaml", "bad-numa-nodes.yaml:3: lab.ram",
            "fewer than 1024 pages per NUMA node (numa_nodes=2)"},
        Bad{"bad-value.yaml", "bad-value.yaml:5: steps[1]", "token 3 \"count=lots\""},
        Bad{"bad-value-ref.yaml", "bad-value-ref.yaml:7: steps[2]", "token 3 \"count=lots\""},
        Bad{"bad-ctx-ref.yaml", "bad-ctx-ref.yaml:7: steps[2]",
            "token 3 \"@softirg:0\": context \"softirg\" is not one of process, softirq"},
        Bad{"bad-ref-type.yaml", "bad-ref-type.yaml:9: steps[3]",
            "token 2 \"pool=$a.pages[0]\": "}),
    [](const ::testing::TestParamInfo<Bad>& i) {
      std::string n = i.param.file;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

// A file of only comments is as empty as a file of nothing.
TEST(ScenarioLoaderTest, ACommentsOnlyFileIsEmpty) {
  absl::StatusOr<Scenario> s = LoadScenarioText("# nothing yet\n\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("c.yaml:1: the file is empty"));
}

// A `null` document is not empty: it is a document that is not a mapping.
TEST(ScenarioLoaderTest, ANullDocumentIsNotAMapping) {
  absl::StatusOr<Scenario> s = LoadScenarioText("\n~\n", "n.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("n.yaml:2: expected a mapping"));
}

// Placeholders only stand in for the check: every $reference form that is valid at run time
// loads, in handle fields and id fields, inside frag lists and dotted keys, and the op line is
// kept as written (the run substitutes the real values).
TEST(ScenarioLoaderTest, ReferencesOfEveryTypeLoad) {
  absl::StatusOr<Scenario> s = LoadScenarioText(R"(
name: refs
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev flags=1
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0
    as: a
  - page_pool_put_page pool=$nic.pools[0] page=$a allow_direct=true @softirq:0
  - page_pool_put_page pool=$nic.pools[0] page=$a.pages[1] @softirq:0
  - skb_build frags=$a.pages[0]+2048:1024,$a.pages[1] recycle
)",
                                                "refs.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->steps.size(), 6u);
  EXPECT_EQ(s->steps[3].op_line,
            "page_pool_put_page pool=$nic.pools[0] page=$a allow_direct=true @softirq:0");
}

// The same name may not be bound twice even when the steps are far apart; a name used before
// any binding is still "no earlier step".
TEST(ScenarioLoaderTest, DuplicateAsNamesTheFirstBinding) {
  absl::StatusOr<Scenario> s = LoadScenarioText(
      "name: d\nsteps:\n  - op: add_device\n    as: x\n  - add_device\n  - op: add_device\n"
      "    as: y\n  - op: add_device\n    as: x\n",
      "d.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("d.yaml:9: steps[3].as: \"x\" is already bound by steps[0] at line 4"));
}

}  // namespace
}  // namespace ppsim::chaos
