// client/chaos/report: the versioned JSON shape and well-formed, escaped JUnit XML.
#include "client/chaos/report.h"
#include "client/chaos/report_reader.h"

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

// The fields added within v1 for plots and compare: costs, inflight samples, violation
// records, per-run seed and replay, and how to reproduce (the command and its flags).
ScenarioResult Rich() {
  ScenarioResult r = Sample();
  RunResult& run = r.runs[0];
  run.seed = 7;
  run.rejected_ops = 3;
  run.costs = {.drain_time_ns = 31'000'000'000, .max_lock_hold_ns = 12,
               .removal_latency_ns = -1, .memory_overhead_bytes = 576,
               .strategy_host_ns = 99};
  run.inflight = {{.op = 0, .time_ns = 0, .pages = 0}, {.op = 2, .time_ns = 5, .pages = 64},
                  {.op = 8, .time_ns = 2'000'000'000, .pages = 0}};
  run.events = {{.id = "PP001", .op = 5, .time_ns = 1'000'000'000},
                {.id = "PP001", .op = 6, .time_ns = 1'000'000'000}};
  RunResult other{.strategy = "scan", .digest = 1, .ops = 9};
  r.runs.push_back(other);
  return r;
}

TEST(ReportTest, JsonCarriesCostsSamplesEventsAndReplay) {
  const ReportContext ctx{.command = "compare", .seed = 7, .ops = 100};
  const nlohmann::json j = nlohmann::json::parse(ReportJson(Rich(), ctx));
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["costs"]["drain_time_ns"], 31'000'000'000);
  EXPECT_EQ(run["costs"]["max_lock_hold_ns"], 12);
  EXPECT_EQ(run["costs"]["removal_latency_ns"], -1);
  EXPECT_EQ(run["costs"]["memory_overhead_bytes"], 576);
  EXPECT_EQ(run["costs"]["strategy_host_ns"], 99);
  EXPECT_EQ(run["inflight"][1], nlohmann::json::array({2, 5, 64}));
  EXPECT_EQ(run["events"][1]["id"], "PP001");
  EXPECT_EQ(run["events"][1]["op"], 6);
  EXPECT_EQ(run["events"][1]["time_ns"], 1'000'000'000);
  EXPECT_EQ(run["seed"], 7);
  EXPECT_EQ(run["rejected_ops"], 3);
  EXPECT_EQ(run["replay"], "ppctl compare s.yaml --strategies legacy --seed 7 --ops 100");
  EXPECT_EQ(j["replay"], "ppctl compare s.yaml --strategies legacy,scan --seed 7 --ops 100");
  EXPECT_EQ(j["reproduce"]["command"], "compare");
  EXPECT_EQ(j["runs"][1]["replay"], "ppctl compare s.yaml --strategies scan --seed 7 --ops 100");
}

TEST(ReportTest, ReplayCommandOfARunNamesItsStrategyAndTarget) {
  ScenarioResult r = Sample();
  r.target = "h:1";
  EXPECT_EQ(ReplayCommand(r, "legacy"), "ppctl run s.yaml --strategy legacy --target h:1");
  EXPECT_EQ(ReplayCommand(r), "ppctl run s.yaml --target h:1");
}

// report_reader: what ReportJson wrote comes back field for field, and writing it again gives
// the same document (so `ppctl report` renders exactly what the run would have).
TEST(ReportReaderTest, RoundTrip) {
  const ReportContext ctx{.command = "compare", .seed = 7, .ops = 100};
  const ScenarioResult in = Rich();
  const std::string json = ReportJson(in, ctx);
  absl::StatusOr<SavedReport> back = ReportFromJson(json, "r.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ReportJson(back->result, back->context), json);
  const ScenarioResult& out = back->result;
  EXPECT_EQ(out.scenario, in.scenario);
  EXPECT_EQ(out.target, "") << "\"embedded\" reads back as the embedded target";
  ASSERT_EQ(out.runs.size(), 2u);
  const RunResult& run = out.runs[0];
  EXPECT_EQ(run.digest, 0xfedcba9876543210u);
  EXPECT_EQ(run.verdict, Verdict::kSafety);
  EXPECT_EQ(run.violations[0].first_op, 5u);
  EXPECT_EQ(run.checks[0].message, in.runs[0].checks[0].message);
  EXPECT_EQ(run.costs.drain_time_ns, 31'000'000'000);
  EXPECT_EQ(run.costs.removal_latency_ns, -1);
  ASSERT_EQ(run.inflight.size(), 3u);
  EXPECT_EQ(run.inflight[1].pages, 64);
  ASSERT_EQ(run.events.size(), 2u);
  EXPECT_EQ(run.events[1].op, 6u);
  EXPECT_EQ(back->context.command, "compare");
  EXPECT_EQ(back->context.seed, 7u);
  EXPECT_EQ(back->context.ops, 100u);
}

// A report from before the v1 additions (no costs, inflight, events) still reads.
TEST(ReportReaderTest, OlderV1WithoutTheAdditionsReads) {
  nlohmann::json j = nlohmann::json::parse(ReportJson(Sample()));
  for (auto& run : j["runs"]) {
    for (const char* k : {"costs", "inflight", "events", "seed", "rejected_ops", "replay"}) {
      run.erase(k);
    }
  }
  j.erase("reproduce");
  absl::StatusOr<SavedReport> back = ReportFromJson(j.dump());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->result.runs[0].costs.removal_latency_ns, -1);
  EXPECT_EQ(back->context.command, "run");
}

TEST(ReportReaderTest, ErrorsNameTheFileFieldAndValue) {
  auto err = [](const std::string& text) {
    absl::StatusOr<SavedReport> r = ReportFromJson(text, "r.json");
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_EQ(err("{"), "r.json: not a JSON document");
  EXPECT_EQ(err(R"({"schema":"other/v9"})"),
            "r.json: schema: expected ppsim.report/v1, got \"other/v9\"");
  nlohmann::json j = nlohmann::json::parse(ReportJson(Rich()));
  j["runs"][1]["digest"] = 12;
  EXPECT_EQ(err(j.dump()), "r.json: runs[1].digest: expected a string, got 12");
  j["runs"][1]["digest"] = "0xzz";
  EXPECT_EQ(err(j.dump()),
            "r.json: runs[1].digest: expected a 0x-prefixed hex string, got \"0xzz\"");
  j = nlohmann::json::parse(ReportJson(Rich()));
  j["runs"][0]["inflight"][1] = {1, 2};
  EXPECT_EQ(err(j.dump()), "r.json: runs[0].inflight[1]: expected [op, time_ns, pages], got [1,2]");
  j = nlohmann::json::parse(ReportJson(Rich()));
  j["runs"][0]["verdict"] = "maybe";
  EXPECT_EQ(err(j.dump()),
            "r.json: runs[0].verdict: expected pass, safety, liveness or unknown, got \"maybe\"");
  j = nlohmann::json::parse(ReportJson(Rich()));
  j["runs"][0].erase("ops");
  EXPECT_EQ(err(j.dump()), "r.json: runs[0].ops: missing");
  EXPECT_TRUE(absl::IsNotFound(ReadReportFile("/nonexistent/r.json").status()));
}

// reference C3: <system-out> holds what a CI log reader needs: the op that first raised each
// violation, with its op line when the run recorded the trace.
TEST(ReportTest, JunitSystemOutNamesTheFirstOps) {
  ScenarioResult r = Sample();
  r.runs[0].trace.resize(6);
  r.runs[0].trace[5].line = "napi_pp_put_page page=$held @softirq:0";
  const std::string x = ReportJunit(r);
  EXPECT_THAT(x, HasSubstr("PP001 x2 first at op 5: napi_pp_put_page page=$held @softirq:0"));
  EXPECT_THAT(x, HasSubstr("<system-out>digest=0xfedcba9876543210"));
}

TEST(ReportTest, XmlEscapeDropsForbiddenControlCharacters) {
  EXPECT_EQ(XmlEscape("a'b\tc\x02"), "a&apos;b\tc");
}

// reference C3: a shrunk reproducer's report (`ppctl shrink --junit`) lists the minimised op
// sequence in every testcase's <system-out>, after what it printed before, escaped; other runs
// print no such section.
TEST(ReportTest, JunitSystemOutListsTheMinimizedOps) {
  ScenarioResult r = Sample();
  r.runs[0].trace.resize(6);
  r.runs[0].trace[5].line = "napi_pp_put_page page=$held @softirq:0";
  const std::string plain = ReportJunit(r);
  EXPECT_THAT(plain, Not(HasSubstr("minimized ops")));
  r.minimized_ops = {"add_device  # as dev", "bind_driver device=$dev flags=1  # as nic",
                     "stack_hold skb=3 holder=\"<defrag>\""};
  const std::string x = ReportJunit(r);
  EXPECT_THAT(x, HasSubstr("<system-out>digest=0xfedcba9876543210 ops=9 virtual_time_ns=2000000000\n"
                           "PP001 x2 first at op 5: napi_pp_put_page page=$held @softirq:0\n"
                           "minimized ops (3):\n"
                           "  add_device  # as dev\n"
                           "  bind_driver device=$dev flags=1  # as nic\n"
                           "  stack_hold skb=3 holder=&quot;&lt;defrag&gt;&quot;</system-out>"));
  // Only the system-out grew: the rest of the document is what it was.
  std::string without = x;
  const std::string section =
      "\nminimized ops (3):\n  add_device  # as dev\n  bind_driver device=$dev flags=1  # as "
      "nic\n  stack_hold skb=3 holder=&quot;&lt;defrag&gt;&quot;";
  const size_t at = without.find(section);
  ASSERT_NE(at, std::string::npos);
  without.erase(at, section.size());
  EXPECT_EQ(without, plain);
}

}  // namespace
}  // namespace ppsim::chaos
