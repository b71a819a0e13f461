// client/chaos/report_html: one self-contained page (no script, no URL of any kind), every
// text escaped, and per run the summary, the costs, the inflight plot with its axes and one
// marker per violation record, and the replay command. tests/integration/html_report_test.sh
// renders a real report in headless Chromium.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "absl/strings/match.h"
#include "client/chaos/report.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ScenarioResult Sample() {
  ScenarioResult r{.scenario = "<script>alert(1)</script>", .file = "a&b.yaml", .seed = 7};
  RunResult run{.strategy = "legacy", .verdict = Verdict::kSafety,
                .violations = {{.id = "PP001", .severity = "crash", .count = 2, .first_op = 5},
                               {.id = "PP005", .severity = "warning", .count = 1, .first_op = 3}},
                .checks = {{.name = "expect", .ok = false, .message = "PP001 \"<bad>\""}},
                .digest = 0xfedcba9876543210, .ops = 9, .virtual_time_ns = 2'000'000'000,
                .host_time_s = 0.25, .seed = 7};
  run.inflight = {{.op = 0, .time_ns = 0, .pages = 0}, {.op = 2, .time_ns = 0, .pages = 65},
                  {.op = 4, .time_ns = 0, .pages = 1}, {.op = 8, .time_ns = 1'000'000'000,
                                                        .pages = 0}};
  run.events = {{.id = "PP005", .op = 3, .time_ns = 0},
                {.id = "PP001", .op = 5, .time_ns = 1'000'000'000},
                {.id = "PP001", .op = 6, .time_ns = 1'000'000'000}};
  run.costs = {.drain_time_ns = 31'000'000'000, .max_lock_hold_ns = 0,
               .removal_latency_ns = 50'000'000, .memory_overhead_bytes = 576};
  r.runs.push_back(run);
  return r;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(ReportHtmlTest, IsOneSelfContainedPage) {
  const std::string html = ReportHtml(Sample());
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  for (const char* external : {"http:", "https:", "//", "src=", "href=", "url(", "@import",
                               "<script", "<link", "<img", "<iframe"}) {
    EXPECT_THAT(html, Not(HasSubstr(external))) << external;
  }
}

TEST(ReportHtmlTest, EscapesEveryTextFromTheScenario) {
  const std::string html = ReportHtml(Sample());
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("a&amp;b.yaml"));
  EXPECT_THAT(html, HasSubstr("PP001 &quot;&lt;bad&gt;&quot;"));
  EXPECT_THAT(html, Not(HasSubstr("<bad>")));
}

TEST(ReportHtmlTest, SummaryCostsAndReplay) {
  const std::string html = ReportHtml(Sample());
  EXPECT_THAT(html, HasSubstr("0xfedcba9876543210"));
  EXPECT_THAT(html, HasSubstr("class=\"verdict safety\""));
  EXPECT_THAT(html, HasSubstr("<td>PP001</td><td>crash</td><td class=\"n\">2</td>"));
  EXPECT_THAT(html, HasSubstr("31.000 s"));  // drain
  EXPECT_THAT(html, HasSubstr("50.0 ms"));   // removal
  EXPECT_THAT(html, HasSubstr("576 B"));
  EXPECT_THAT(html, HasSubstr("<code class=\"replay\">ppctl run a&amp;b.yaml --strategy legacy"));
}

// A step line: each sample moves horizontally at the old value, then vertically, and the line
// runs on to the end of the axis: 2 points per sample + 1.
TEST(ReportHtmlTest, PlotIsAStepLineThroughTheSamples) {
  const std::string html = ReportHtml(Sample());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      html, m, std::regex("<polyline class=\"inflight\" points=\"([^\"]*)\"")));
  const std::string points = m[1];
  EXPECT_EQ(Count(points, ",") , 2 * 4 + 1);
  // Axes with ticks: the time axis in seconds (0 .. 2 s) and pages (0 .. 65+).
  EXPECT_THAT(html, HasSubstr(">virtual time</text>"));
  EXPECT_THAT(html, HasSubstr(">inflight pages</text>"));
  EXPECT_THAT(html, HasSubstr(">2 s</text>"));
  EXPECT_THAT(html, HasSubstr(">0</text>"));
}

// One marker per stored violation record, its tooltip naming the id, the op and the time;
// two records at the same spot are stacked so that both stay visible.
TEST(ReportHtmlTest, EveryViolationIsMarkedWithATooltip) {
  const std::string html = ReportHtml(Sample());
  EXPECT_EQ(Count(html, "<circle class=\"marker\""), 3);
  EXPECT_THAT(html, HasSubstr("<title>PP005 at op 3, t=0</title>"));
  EXPECT_THAT(html, HasSubstr("<title>PP001 at op 5, t=1.000 s</title>"));
  EXPECT_THAT(html, HasSubstr("<title>PP001 at op 6, t=1.000 s</title>"));
  EXPECT_THAT(html, HasSubstr("class=\"violation crash\" data-id=\"PP001\" data-op=\"5\""));
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(html, a, std::regex("data-op=\"5\">.*?cy=\"([0-9.]+)\"")));
  ASSERT_TRUE(std::regex_search(html, b, std::regex("data-op=\"6\">.*?cy=\"([0-9.]+)\"")));
  EXPECT_NE(a[1], b[1]);
}

TEST(ReportHtmlTest, NoSamplesStillDrawsAxesAndMarkers) {
  ScenarioResult r = Sample();
  r.runs[0].inflight.clear();
  const std::string html = ReportHtml(r);
  EXPECT_THAT(html, Not(HasSubstr("<polyline")));
  EXPECT_THAT(html, HasSubstr("No inflight samples"));
  EXPECT_EQ(Count(html, "<circle class=\"marker\""), 3);
}

TEST(ReportHtmlTest, ManyViolationsAreCappedWithANote) {
  ScenarioResult r = Sample();
  r.runs[0].events.assign(1000, {.id = "PP002", .op = 1, .time_ns = 5});
  const std::string html = ReportHtml(r);
  EXPECT_EQ(Count(html, "<circle class=\"marker\""), 400);
  EXPECT_THAT(html, HasSubstr("600 more violation records not marked"));
}

TEST(ReportHtmlTest, SeveralRunsGetAnOverviewAndASectionEach) {
  ScenarioResult r = Sample();
  RunResult scan{.strategy = "scan", .digest = 1, .ops = 9};
  r.runs.push_back(scan);
  const std::string html = ReportHtml(r, {.command = "compare", .seed = 7});
  EXPECT_THAT(html, HasSubstr("<table class=\"overview\">"));
  EXPECT_EQ(Count(html, "<section class=\"run\""), 2);
  EXPECT_EQ(Count(html, "<svg class=\"plot\""), 2);
  EXPECT_THAT(html, HasSubstr("ppctl compare a&amp;b.yaml --strategies scan --seed 7"));
  EXPECT_THAT(html, HasSubstr("PP001×2 PP005×1"));
}

}  // namespace
}  // namespace ppsim::chaos
