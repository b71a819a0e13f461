// client/chaos/scenario_writer and gtest_writer: what ScenarioToYaml writes loads back to the
// same scenario (every field, every catalog scenario), the shrunk scenario carries the trace's
// lab and expects the id, and the emitted GoogleTest case embeds that YAML intact.
#include "client/chaos/scenario_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "client/chaos/gtest_writer.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

void ExpectSame(const Scenario& a, const Scenario& b, const std::string& what) {
  EXPECT_EQ(a.name, b.name) << what;
  EXPECT_EQ(a.description, b.description) << what;
  EXPECT_EQ(a.profile, b.profile) << what;
  EXPECT_EQ(a.lab.ram_bytes, b.lab.ram_bytes) << what;
  EXPECT_EQ(a.lab.iommu_model, b.lab.iommu_model) << what;
  EXPECT_EQ(a.lab.strict, b.lab.strict) << what;
  EXPECT_EQ(a.lab.cpus, b.lab.cpus) << what;
  EXPECT_EQ(a.lab.numa_nodes, b.lab.numa_nodes) << what;
  EXPECT_EQ(a.lab.seed, b.lab.seed) << what;
  EXPECT_EQ(a.lab.profile_switches, b.lab.profile_switches) << what;
  EXPECT_EQ(a.lab.default_strategy, b.lab.default_strategy) << what;
  EXPECT_EQ(a.strategies, b.strategies) << what;
  ASSERT_EQ(a.expect.size(), b.expect.size()) << what;
  for (const auto& [key, e] : a.expect) {
    ASSERT_EQ(b.expect.count(key), 1u) << what << " " << key;
    const Expectation& f = b.expect.at(key);
    EXPECT_EQ(e.occur, f.occur) << what << " " << key;
    EXPECT_EQ(e.none, f.none) << what << " " << key;
    EXPECT_EQ(e.forbid, f.forbid) << what << " " << key;
  }
  ASSERT_EQ(a.steps.size(), b.steps.size()) << what;
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].op_line, b.steps[i].op_line) << what << " step " << i;
    EXPECT_EQ(a.steps[i].repeat, b.steps[i].repeat) << what << " step " << i;
    EXPECT_EQ(a.steps[i].as, b.steps[i].as) << what << " step " << i;
  }
  ASSERT_EQ(a.chaos.has_value(), b.chaos.has_value()) << what;
  if (a.chaos) {
    EXPECT_EQ(a.chaos->weights, b.chaos->weights) << what;
    EXPECT_EQ(a.chaos->ops, b.chaos->ops) << what;
    EXPECT_EQ(a.chaos->duration_ns, b.chaos->duration_ns) << what;
    EXPECT_EQ(a.chaos->faults, b.chaos->faults) << what;
  }
  ASSERT_EQ(a.liveness.has_value(), b.liveness.has_value()) << what;
  if (a.liveness) {
    EXPECT_EQ(a.liveness->advance_ns, b.liveness->advance_ns) << what;
  }
  EXPECT_EQ(a.sometimes, b.sometimes) << what;
}

Scenario RoundTrip(const Scenario& s, const std::string& what) {
  const std::string yaml = ScenarioToYaml(s, {"a comment", "and: another # line"});
  absl::StatusOr<Scenario> back = LoadScenarioText(yaml, "written.yaml");
  EXPECT_TRUE(back.ok()) << what << ": " << back.status() << "\n" << yaml;
  return back.ok() ? *back : Scenario();
}

TEST(ScenarioWriterTest, EveryFieldRoundTrips) {
  Scenario s;
  s.name = "every: field \"quoted\"";
  s.description = "a: description\nover two lines with a \\ backslash";
  s.profile = "v6.15";
  s.lab.ram_bytes = 8ULL << 30;
  s.lab.iommu_model = "ppc-ddw";
  s.lab.strict = false;
  s.lab.cpus = 8;
  s.lab.numa_nodes = 2;
  s.lab.seed = 18446744073709551615ULL;
  s.lab.profile_switches = {{"release_data_clears_pp_recycle", "true"}};
  s.lab.default_strategy = "scan";
  s.strategies = {"legacy", "dma-tracking"};
  s.expect["legacy"].occur = {"PP001", "PP005"};
  s.expect["dma-tracking"].none = true;
  s.expect["default"].forbid = {"PP009"};
  s.steps = {{.op_line = "add_device", .as = "dev"},
             {.op_line = "bind_driver device=$dev flags=1", .as = "nic"},
             {.op_line = "page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0", .repeat = 3,
              .as = "p"},
             {.op_line = "stack_hold skb=1 holder=\"defrag\""},
             {.op_line = "advance_time ns=30s"}};
  s.chaos = ChaosSpec{.weights = {{"alloc", 2.5}, {"unbind", 0.125}}, .ops = 100,
                      .duration_ns = 5000000000,
                      .faults = {{{"site", "fail_page_alloc"}, {"probability", "0.5"}}}};
  s.liveness = LivenessSpec{.advance_ns = 130000000000};
  s.sometimes = {"unbind_while_inflight", "violation:PP005"};
  ExpectSame(s, RoundTrip(s, "every field"), "every field");
}

// Every catalog file must load: one that does not is a failure here too, not a file skipped.
TEST(ScenarioWriterTest, EveryCatalogScenarioRoundTrips) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(PPSIM_SOURCE_DIR) / "client" / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    const std::string file = e.path().filename().string();
    absl::StatusOr<Scenario> s = LoadScenarioFile(e.path().string());
    ASSERT_TRUE(s.ok()) << file << ": " << s.status();
    ExpectSame(*s, RoundTrip(*s, file), file);
    ++n;
  }
  EXPECT_GT(n, 40);
}

TEST(ScenarioWriterTest, YamlQuoteEscapes) {
  EXPECT_EQ(YamlQuote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
  EXPECT_EQ(YamlQuote(std::string("\x01", 1)), "\"\\x01\"");
}

Trace ShrunkTrace() {
  Trace t;
  t.scenario = "chaos-10k";
  t.strategy = "dma-tracking";
  t.seed = 42;
  t.config.set_profile("v6.15");
  t.config.set_iommu_model("intel");
  t.config.set_iommu_strict(true);
  t.config.set_cpus(4);
  t.config.set_seed(42);
  t.config.set_default_strategy("dma-tracking");
  auto* sw = t.config.add_profile_switches();
  sw->set_name("release_data_clears_pp_recycle");
  sw->set_value("false");
  t.ops.resize(1000);
  return t;
}

const std::vector<ShrinkStep> kDoublePut = {
    {"add_device", "s0"},
    {"bind_driver device=$s0 flags=1", "s1"},
    {"page_pool_alloc_pages pool=$s1.pools[0] @softirq:0", "s2"},
    {"page_pool_put_page pool=$s1.pools[0] page=$s2 @softirq:0", ""},
    {"page_pool_put_page pool=$s1.pools[0] page=$s2 @softirq:0", ""}};

TEST(ScenarioWriterTest, ShrunkScenarioCarriesTheLabAndExpectsTheId) {
  const Scenario s = ShrunkScenario(ShrunkTrace(), kDoublePut, "PP008", "run.jsonl");
  EXPECT_EQ(s.name, "shrunk-chaos-10k-PP008");
  EXPECT_THAT(s.description, HasSubstr("run.jsonl"));
  EXPECT_THAT(s.description, HasSubstr("seed 42"));
  EXPECT_THAT(s.description, HasSubstr("5 of 1000 ops still raise PP008"));
  EXPECT_EQ(s.profile, "v6.15");
  EXPECT_EQ(s.lab.iommu_model, "intel");
  EXPECT_EQ(s.lab.strict, true);
  EXPECT_EQ(s.lab.cpus, 4u);
  EXPECT_EQ(s.lab.seed, 42u);
  ASSERT_EQ(s.lab.profile_switches.size(), 1u);
  EXPECT_EQ(s.lab.profile_switches[0].second, "false");
  EXPECT_EQ(s.strategies, std::vector<std::string>{"dma-tracking"});
  ASSERT_EQ(s.expect.count("dma-tracking"), 1u);
  EXPECT_EQ(s.expect.at("dma-tracking").occur, std::vector<std::string>{"PP008"});
  EXPECT_FALSE(s.expect.at("dma-tracking").none) << "other ids may come along";
  // The lab it describes is the trace's lab.
  const v1::LabConfig c = LabConfigFor(s, "dma-tracking");
  EXPECT_EQ(c.SerializeAsString(), ShrunkTrace().config.SerializeAsString())
      << c.DebugString() << " vs " << ShrunkTrace().config.DebugString();

  // Written, loaded and run: it passes because PP008 is raised.
  absl::StatusOr<Scenario> back = LoadScenarioText(ScenarioToYaml(s), "shrunk.yaml");
  ASSERT_TRUE(back.ok()) << back.status();
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*back, *target);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->runs.size(), 1u);
  EXPECT_EQ(r->runs[0].verdict, Verdict::kPass) << r->runs[0].checks[0].message;
  ASSERT_FALSE(r->runs[0].violations.empty());
  EXPECT_EQ(r->runs[0].violations[0].id, "PP008");
  // Without the double put the regression scenario fails: "PP008 expected but never raised".
  back->steps.pop_back();
  r = RunScenario(*back, *target);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->runs[0].verdict, Verdict::kSafety);
  EXPECT_THAT(r->runs[0].checks[0].message, HasSubstr("PP008 expected but never raised"));
}

TEST(GtestWriterTest, EmbedsTheYamlAndExpectsTheId) {
  const std::string yaml = ScenarioToYaml(ShrunkScenario(ShrunkTrace(), kDoublePut, "PP008", ""));
  const std::string text = GtestCaseText(yaml, "PP008", {"Generated by: ppctl shrink t.jsonl"},
                                         "shrunk-chaos-10k-PP008");
  EXPECT_THAT(text, HasSubstr("// Generated by: ppctl shrink t.jsonl\n"));
  EXPECT_THAT(text, HasSubstr("TEST(Shrunk, ShrunkChaos10kPP008)"));
  EXPECT_THAT(text, HasSubstr("R\"yaml(\n" + yaml + ")yaml\""));
  EXPECT_THAT(text, HasSubstr("v.id == \"PP008\""));
  EXPECT_THAT(text, HasSubstr("#include \"client/chaos/runner.h\""));
}

TEST(GtestWriterTest, PicksADelimiterTheYamlDoesNotContain) {
  const std::string text = GtestCaseText("name: \")yaml\"\n", "PP001", {}, "x");
  EXPECT_THAT(text, HasSubstr("R\"yaml_(\nname: \")yaml\"\n)yaml_\""));
}

TEST(GtestWriterTest, IdentifiersAreCamelCaseWithoutUnderscores) {
  EXPECT_EQ(GtestIdentifier("shrunk-chaos-10k-PP008"), "ShrunkChaos10kPP008");
  EXPECT_EQ(GtestIdentifier("a_b c"), "ABC");
  EXPECT_EQ(GtestIdentifier("9lives"), "Case9lives");
  EXPECT_EQ(GtestIdentifier("---"), "Case");
}

}  // namespace
}  // namespace ppsim::chaos
