// client/chaos/report: the versioned JSON shape and well-formed, escaped JUnit XML.
#include "client/chaos/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ScenarioResult Sample() {
  ScenarioResult r{.scenario = "a<b>&\"c\"", .file = "s.yaml", .seed = 7};
  RunResult run{.strategy = "legacy", .verdict = Verdict::kSafety,
                .violations = {{.id = "PP001", .severity = "crash", .count = 2, .first_op = 5}},
                .checks = {{.name = "expect", .ok = false, .message = "PP005 <missing>\x01"}},
                .digest = 0xfedcba9876543210, .ops = 9, .virtual_time_ns = 2'000'000'000,
                .host_time_s = 0.25};
  r.runs.push_back(run);
  return r;
}

TEST(ReportTest, JsonHasTheV1Shape) {
  const nlohmann::json j = nlohmann::json::parse(ReportJson(Sample()));
  EXPECT_EQ(j["schema"], "ppsim.report/v1");
  EXPECT_EQ(j["seed"], 7);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["strategy"], "legacy");
  EXPECT_EQ(run["verdict"], "safety");
  EXPECT_EQ(run["violations"][0]["id"], "PP001");
  EXPECT_EQ(run["violations"][0]["severity"], "crash");
  EXPECT_EQ(run["violations"][0]["count"], 2);
  EXPECT_EQ(run["violations"][0]["first_op"], 5);
  EXPECT_EQ(run["digest"], "0xfedcba9876543210") << "hex: a u64 does not survive a double";
  EXPECT_EQ(run["ops"], 9);
  EXPECT_EQ(run["virtual_time_ns"], 2'000'000'000);
  EXPECT_DOUBLE_EQ(run["host_time_s"].get<double>(), 0.25);
  EXPECT_EQ(j["replay"], "ppctl run s.yaml");
}

TEST(ReportTest, JunitEscapesAndCarriesSeedAndReplay) {
  const std::string x = ReportJunit(Sample());
  EXPECT_THAT(x, HasSubstr("<testsuite name=\"a&lt;b&gt;&amp;&quot;c&quot;\" tests=\"1\" failures=\"1\""));
  EXPECT_THAT(x, HasSubstr("name=\"legacy.expect\""));
  EXPECT_THAT(x, HasSubstr("<property name=\"seed\" value=\"7\"/>"));
  EXPECT_THAT(x, HasSubstr("<property name=\"replay_command\" value=\"ppctl run s.yaml\"/>"));
  EXPECT_THAT(x, HasSubstr("message=\"PP005 &lt;missing&gt;\""));
  EXPECT_THAT(x, HasSubstr("replay: ppctl run s.yaml --strategy legacy"));
  EXPECT_THAT(x, Not(HasSubstr("\x01")));
}

TEST(ReportTest, XmlEscapeDropsForbiddenControlCharacters) {
  EXPECT_EQ(XmlEscape("a'b\tc\x02"), "a&apos;b\tc");
}

}  // namespace
}  // namespace ppsim::chaos
