// File: client/chaos/report_html.cc
// The HTML report (docs/design.md §6: HTML timeline,
// drain plots): one page that opens from a CI artifact store or a mail attachment with no
// network — inline CSS, inline SVG, no script, no URL of any kind — so every text that came
// from a scenario or the model is escaped.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chaos/costs.h"
#include "client/chaos/report.h"

namespace ppsim::chaos {
namespace {

constexpr char kStyle[] = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;font-weight:600}
.pass{background:#1a7f37}.safety{background:#cf222e}.liveness{background:#9a6700}
.verdict.unknown{background:#57606a}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;white-space:pre-wrap;
word-break:break-all}
section.run{border-top:2px solid #d0d7de;margin-top:24px}
svg.plot{border:1px solid #d0d7de;background:#fcfcfd}
svg .axis{stroke:#57606a;stroke-width:1}svg .grid{stroke:#e7eaee;stroke-width:1}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
svg .inflight{fill:none;stroke:#0969da;stroke-width:1.5}
svg .violation line{stroke-width:1;stroke-dasharray:3 3}
.crash{fill:#cf222e;stroke:#cf222e}.corruption{fill:#bc4c00;stroke:#bc4c00}
.warning{fill:#9a6700;stroke:#9a6700}.leak{fill:#8250df;stroke:#8250df}
.unknown{fill:#57606a;stroke:#57606a}.note{color:#57606a}
)";

// Plot geometry, in SVG user units.
constexpr double kWidth = 760, kHeight = 280;
constexpr double kLeft = 60, kRight = 20, kTop = 20, kBottom = 44;
constexpr size_t kMaxMarkers = 400;  // beyond this the page lists how many it left out

std::string E(absl::string_view s) { return XmlEscape(s); }

std::string StrategyName(const RunResult& run) {
  return run.strategy.empty() ? "default" : run.strategy;
}

// A 1-2-5 step that gives about `target` intervals over [0, max].
double NiceStep(double max, int target) {
  if (max <= 0) return 1;
  const double raw = max / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

// Tick label for a virtual time: one unit for the whole axis, chosen by its end.
std::string TimeLabel(double ns, double axis_end) {
  if (ns == 0) return "0";
  if (axis_end >= 1e9) return absl::StrFormat("%g s", ns / 1e9);
  if (axis_end >= 1e6) return absl::StrFormat("%g ms", ns / 1e6);
  if (axis_end >= 1e3) return absl::StrFormat("%g us", ns / 1e3);
  return absl::StrFormat("%g ns", ns);
}

std::string Severity(const RunResult& run, const std::string& id) {
  for (const ViolationSummary& v : run.violations) {
    if (v.id == id && !v.severity.empty()) return v.severity;
  }
  return "unknown";
}

// Inflight pages (all pools) after op `op`, from the samples: the last sample at or before it.
int64_t PagesAt(const std::vector<InflightSample>& samples, uint64_t op) {
  int64_t pages = 0;
  for (const InflightSample& s : samples) {
    if (s.op > op) break;
    pages = s.pages;
  }
  return pages;
}

// The inflight plot: a step line through the samples (inflight changes only at ops), axes
// with ticks in virtual time and pages, and one marker per violation record at its time, on
// the line, with a <title> that names the id and the op (the browser's tooltip).
std::string Plot(const RunResult& run) {
  const std::vector<InflightSample>& samples = run.inflight;
  int64_t t_max = std::max<int64_t>(run.virtual_time_ns, 0);
  int64_t y_max = 1;
  for (const InflightSample& s : samples) {
    t_max = std::max(t_max, s.time_ns);
    y_max = std::max(y_max, s.pages);
  }
  for (const ViolationEvent& e : run.events) t_max = std::max(t_max, e.time_ns);
  const double x_step = NiceStep(t_max > 0 ? static_cast<double>(t_max) : 1e9, 6);
  const double x_end = std::max(x_step, std::ceil(static_cast<double>(t_max) / x_step) * x_step);
  const double y_step = std::max(1.0, NiceStep(static_cast<double>(y_max), 5));
  const double y_end = std::ceil(static_cast<double>(y_max) / y_step) * y_step;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  const auto X = [&](double ns) { return kLeft + pw * ns / x_end; };
  const auto Y = [&](double pages) { return kTop + ph * (1 - std::max(0.0, pages) / y_end); };

  std::string svg = absl::StrFormat(
      "<svg class=\"plot\" role=\"img\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\">\n"
      "<title>inflight pages over virtual time, %s</title>\n",
      kWidth, kHeight, kWidth, kHeight, E(StrategyName(run)));
  svg += "<g class=\"ticks\">\n";
  for (double v = 0; v <= x_end + x_step / 2; v += x_step) {
    absl::StrAppendFormat(&svg,
                          "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                          X(v), kTop, X(v), kTop + ph, X(v), kTop + ph + 16,
                          E(TimeLabel(v, x_end)));
  }
  for (double v = 0; v <= y_end + y_step / 2; v += y_step) {
    absl::StrAppendFormat(&svg,
                          "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                          kLeft, Y(v), kLeft + pw, Y(v), kLeft - 6, Y(v) + 4, v);
  }
  svg += "</g>\n";
  absl::StrAppendFormat(&svg,
                        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">virtual time</text>"
                        "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" "
                        "transform=\"rotate(-90 14 %.1f)\">inflight pages</text>\n",
                        kLeft, kTop + ph, kLeft + pw, kTop + ph, kLeft, kTop, kLeft, kTop + ph,
                        kLeft + pw / 2, kHeight - 6, kTop + ph / 2, kTop + ph / 2);
  if (!samples.empty()) {
    std::vector<std::string> points;
    int64_t prev = 0;
    for (const InflightSample& s : samples) {
      points.push_back(absl::StrFormat("%.1f,%.1f", X(s.time_ns), Y(prev)));
      points.push_back(absl::StrFormat("%.1f,%.1f", X(s.time_ns), Y(s.pages)));
      prev = s.pages;
    }
    points.push_back(absl::StrFormat("%.1f,%.1f", X(x_end), Y(prev)));
    absl::StrAppend(&svg, "<polyline class=\"inflight\" points=\"", absl::StrJoin(points, " "),
                    "\"/>\n");
  }
  // Markers that land on the same spot are stacked upwards so that each stays visible.
  std::map<std::pair<int, int>, int> stacked;
  svg += "<g class=\"violations\">\n";
  for (size_t i = 0; i < run.events.size() && i < kMaxMarkers; ++i) {
    const ViolationEvent& e = run.events[i];
    const double x = X(e.time_ns);
    double y = Y(static_cast<double>(PagesAt(samples, e.op)));
    const int n = stacked[{static_cast<int>(x), static_cast<int>(y)}]++;
    y = std::max(kTop, y - 12.0 * n);
    const std::string cls = E(Severity(run, e.id));
    absl::StrAppendFormat(
        &svg,
        "<g class=\"violation %s\" data-id=\"%s\" data-op=\"%d\">"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
        "<circle class=\"marker\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\">"
        "<title>%s at op %d, t=%s</title></circle></g>\n",
        cls, E(e.id), e.op, x, kTop, x, kTop + ph, x, y, E(e.id), e.op,
        E(FormatNanos(e.time_ns)));
  }
  svg += "</g>\n</svg>\n";
  if (samples.empty()) {
    svg += "<p class=\"note\">No inflight samples were recorded for this run.</p>\n";
  }
  if (run.events.size() > kMaxMarkers) {
    absl::StrAppendFormat(&svg, "<p class=\"note\">%d more violation records not marked.</p>\n",
                          run.events.size() - kMaxMarkers);
  }
  return svg;
}

std::string Violations(const RunResult& run) {
  if (run.violations.empty()) return "<p>No violations.</p>\n";
  std::string out =
      "<table class=\"violations\"><tr><th>id</th><th>severity</th><th>count</th>"
      "<th>first op</th></tr>\n";
  for (const ViolationSummary& v : run.violations) {
    std::string first = absl::StrCat(v.first_op);
    if (std::string line = OpLineAt(run, v.first_op); !line.empty()) {
      absl::StrAppend(&first, ": <code>", E(line), "</code>");
    } else {
      first = E(first);
    }
    absl::StrAppendFormat(&out,
                          "<tr><td>%s</td><td>%s</td><td class=\"n\">%d</td><td>%s</td></tr>\n",
                          E(v.id), E(v.severity), v.count, first);
  }
  return out + "</table>\n";
}

std::string Costs(const TeardownCosts& c) {
  return absl::StrFormat(
      "<table class=\"costs\"><tr><th>drain time</th><th>longest lock hold</th>"
      "<th>removal latency</th><th>memory overhead</th><th>strategy host time</th></tr>\n"
      "<tr><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
      "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr></table>\n",
      E(FormatDrain(c.drain_time_ns)), E(FormatNanos(c.max_lock_hold_ns)),
      E(FormatRemoval(c.removal_latency_ns)), E(FormatBytes(c.memory_overhead_bytes)),
      E(FormatNanos(static_cast<int64_t>(c.strategy_host_ns))));
}

std::string ViolationIds(const RunResult& run) {
  std::vector<std::string> ids;
  for (const ViolationSummary& v : run.violations) {
    ids.push_back(absl::StrCat(v.id, "×", v.count));
  }
  return ids.empty() ? "none" : absl::StrJoin(ids, " ");
}

// With several runs (compare, or a scenario listing strategies): one row each, on top.
std::string Overview(const ScenarioResult& r) {
  std::string out =
      "<table class=\"overview\"><tr><th>strategy</th><th>verdict</th><th>violations</th>"
      "<th>drain time</th><th>longest lock hold</th><th>removal latency</th>"
      "<th>memory overhead</th><th>host time</th><th>digest</th></tr>\n";
  for (const RunResult& run : r.runs) {
    const char* verdict = VerdictName(run.verdict);
    absl::StrAppendFormat(
        &out,
        "<tr><td>%s</td><td><span class=\"verdict %s\">%s</span></td><td>%s</td>"
        "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
        "<td class=\"n\">%s</td><td class=\"n\">%.3f s</td><td><code>0x%016x</code></td></tr>\n",
        E(StrategyName(run)), verdict, verdict, E(ViolationIds(run)),
        E(FormatDrain(run.costs.drain_time_ns)), E(FormatNanos(run.costs.max_lock_hold_ns)),
        E(FormatRemoval(run.costs.removal_latency_ns)),
        E(FormatBytes(run.costs.memory_overhead_bytes)), run.host_time_s, run.digest);
  }
  return out + "</table>\n";
}

std::string Run(const ScenarioResult& r, const RunResult& run, const ReportContext& ctx) {
  const char* verdict = VerdictName(run.verdict);
  std::string out = absl::StrFormat(
      "<section class=\"run\" id=\"run-%s\">\n<h2>%s <span class=\"verdict %s\">%s</span></h2>\n",
      E(StrategyName(run)), E(StrategyName(run)), verdict, verdict);
  absl::StrAppendFormat(
      &out,
      "<table class=\"summary\"><tr><th>scenario</th><td>%s</td></tr>"
      "<tr><th>seed</th><td>%d</td></tr><tr><th>strategy</th><td>%s</td></tr>"
      "<tr><th>verdict</th><td>%s</td></tr><tr><th>digest</th><td><code>0x%016x</code></td></tr>"
      "<tr><th>ops</th><td>%d</td></tr><tr><th>virtual time</th><td>%s</td></tr>"
      "<tr><th>host time</th><td>%.3f s</td></tr></table>\n",
      E(r.scenario), run.seed != 0 ? run.seed : r.seed, E(StrategyName(run)), verdict,
      run.digest, run.ops, E(FormatNanos(run.virtual_time_ns)), run.host_time_s);
  if (run.rejected_ops > 0) {
    absl::StrAppendFormat(&out,
                          "<p class=\"note\">%d generated ops were rejected by the lab.</p>\n",
                          run.rejected_ops);
  }
  out += "<h3>Violations</h3>\n" + Violations(run);
  for (const CheckResult& c : run.checks) {
    if (!c.ok) absl::StrAppend(&out, "<p>", E(c.name), " failed: ", E(c.message), "</p>\n");
  }
  out += "<h3>Teardown costs</h3>\n" + Costs(run.costs);
  out += "<h3>Inflight pages</h3>\n" + Plot(run);
  absl::StrAppend(&out, "<h3>Replay</h3>\n<pre><code class=\"replay\">",
                  E(ReplayCommand(r, run.strategy, ctx)), "</code></pre>\n</section>\n");
  return out;
}

}  // namespace

std::string ReportHtml(const ScenarioResult& r, const ReportContext& ctx) {
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ppsim ",
      E(r.scenario), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n");
  absl::StrAppendFormat(
      &out,
      "<h1>%s</h1>\n<p>%s: %s · seed %d · %s · %s</p>\n", E(r.scenario), E(kReportSchema),
      E(r.file), r.seed, r.target.empty() ? "embedded" : E(absl::StrCat("on ", r.target)),
      E(absl::StrCat(r.runs.size(), r.runs.size() == 1 ? " run" : " runs")));
  absl::StrAppend(&out, "<pre><code class=\"replay\">", E(ReplayCommand(r, "", ctx)),
                  "</code></pre>\n");
  if (r.runs.size() > 1) out += Overview(r);
  for (const RunResult& run : r.runs) out += Run(r, run, ctx);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace ppsim::chaos
