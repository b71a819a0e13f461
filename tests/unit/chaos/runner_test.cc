// client/chaos/runner embedded: $NAME bindings, verdicts, stable digests, and every catalog
// scenario in client/scenarios/ passing its own expect.
#include "client/chaos/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "client/chaos/lab_target.h"
#include "client/chaos/scenario_loader.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

ScenarioResult MustRun(const std::string& yaml) {
  absl::StatusOr<Scenario> s = LoadScenarioText(yaml, "t.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return {};
  std::unique_ptr<LabTarget> t = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *t);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ScenarioResult{};
}

constexpr char kLegacyInflight[] = R"(
name: bind
profile: v6.8
strategies: [legacy]
expect: {legacy: {occur: [PP005]}}
steps:
  - op: add_device
    as: dev
  - op: bind_driver device=$dev flags=1 strategy=legacy
    as: nic
  - op: page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0
    as: two
  - op: skb_build frags=$two.pages @softirq:0
    as: skb
  - skb_clone skb=$skb.skbs[0] @softirq:0
  - unbind_driver device=$dev.device
)";

TEST(RunnerTest, BindingsResolvePagesSkbsPoolsAndDevices) {
  const ScenarioResult r = MustRun(kLegacyInflight);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].verdict, Verdict::kPass) << r.runs[0].checks[0].message;
  EXPECT_EQ(r.runs[0].ops, 6u);
  ASSERT_EQ(r.runs[0].violations.size(), 1u);
  EXPECT_EQ(r.runs[0].violations[0].id, "PP005");
  EXPECT_EQ(r.runs[0].violations[0].severity, "warning");
  EXPECT_EQ(r.runs[0].violations[0].first_op, 5u) << "the unbind";
}

TEST(RunnerTest, MissingOccurIsASafetyFailure) {
  std::string yaml = kLegacyInflight;
  yaml.replace(yaml.find("[PP005]"), 7, "[PP005, PP001]");
  const ScenarioResult r = MustRun(yaml);
  EXPECT_EQ(r.runs.at(0).verdict, Verdict::kSafety);
  EXPECT_THAT(r.runs[0].checks[0].message, HasSubstr("PP001 expected but never raised"));
  EXPECT_EQ(ExitCodeFor(r), 1);
}

TEST(RunnerTest, NoExpectationForbidsEveryViolation) {
  std::string yaml = kLegacyInflight;
  yaml.replace(yaml.find("expect:"), yaml.find("steps:") - yaml.find("expect:"), "");
  const ScenarioResult r = MustRun(yaml);
  EXPECT_EQ(r.runs.at(0).verdict, Verdict::kSafety);
  EXPECT_THAT(r.runs[0].checks[0].message, HasSubstr("PP005 raised 1x (first at op 5)"));
}

TEST(RunnerTest, APoolThatNeverDrainsFailsLiveness) {
  const ScenarioResult r = MustRun(std::string(kLegacyInflight) + "liveness: {advance: 2s}\n");
  ASSERT_EQ(r.runs.at(0).checks.size(), 2u);
  EXPECT_FALSE(r.runs[0].checks[1].ok);
  EXPECT_THAT(r.runs[0].checks[1].message, HasSubstr("PP017"));
  EXPECT_EQ(r.runs[0].verdict, Verdict::kLiveness);
  EXPECT_EQ(ExitCodeFor(r), 3);
}

TEST(RunnerTest, ARejectedOpIsAScenarioErrorAtItsLine) {
  absl::StatusOr<Scenario> s = LoadScenarioText(
      "name: x\nsteps:\n  - add_device\n  - page_pool_alloc_pages pool=99\n", "x.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<LabTarget> t = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *t);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("x.yaml:4: steps[1]: op"));
}

TEST(RunnerTest, AnIndexPastTheResultIsAScenarioError) {
  absl::StatusOr<Scenario> s = LoadScenarioText(
      "name: x\nsteps:\n  - op: add_device\n    as: d\n  - get_page page=$d.pages[3]\n", "x.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<LabTarget> t = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *t);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("x.yaml:5: steps[1]: $d.pages[3]: the op bound to d produced 0 pages"));
}

// Every file of the catalog passes its own expect embedded, and a second run has the same
// digests (the run is a pure function of the file).
TEST(CatalogTest, EveryScenarioPassesItsExpectWithAStableDigest) {
  const std::filesystem::path dir = std::filesystem::path(PPSIM_SOURCE_DIR) / "client/scenarios";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    absl::StatusOr<Scenario> s = LoadScenarioFile(entry.path().string());
    ASSERT_TRUE(s.ok()) << s.status();
    std::unique_ptr<LabTarget> t = EmbeddedTarget();
    absl::StatusOr<ScenarioResult> first = RunScenario(*s, *t);
    absl::StatusOr<ScenarioResult> second = RunScenario(*s, *t);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE(second.ok()) << second.status();
    ASSERT_EQ(first->runs.size(), second->runs.size());
    for (size_t i = 0; i < first->runs.size(); ++i) {
      const RunResult& run = first->runs[i];
      std::string detail;
      for (const CheckResult& c : run.checks) detail += c.name + ": " + c.message + "; ";
      EXPECT_EQ(run.verdict, Verdict::kPass) << run.strategy << " " << detail;
      EXPECT_EQ(run.digest, second->runs[i].digest) << run.strategy;
      EXPECT_EQ(run.ops, second->runs[i].ops);
    }
    EXPECT_EQ(ExitCodeFor(*first), 0);
  }
  EXPECT_GE(files, 8);
}

}  // namespace
}  // namespace ppsim::chaos
