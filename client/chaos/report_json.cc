// File: client/chaos/report_json.cc
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chaos/report.h"

namespace ppsim::chaos {

std::string ReplayCommand(const ScenarioResult& r, absl::string_view strategy) {
  std::string cmd = absl::StrCat("ppctl run ", r.file);
  if (!strategy.empty()) absl::StrAppend(&cmd, " --strategy ", strategy);
  if (!r.target.empty()) absl::StrAppend(&cmd, " --target ", r.target);
  return cmd;
}

std::string ReportJson(const ScenarioResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = kReportSchema;
  j["scenario"] = r.scenario;
  j["file"] = r.file;
  j["seed"] = r.seed;
  j["target"] = r.target.empty() ? "embedded" : r.target;
  j["replay"] = ReplayCommand(r);
  j["runs"] = nlohmann::ordered_json::array();
  for (const RunResult& run : r.runs) {
    nlohmann::ordered_json o;
    o["strategy"] = run.strategy.empty() ? "default" : run.strategy;
    o["verdict"] = VerdictName(run.verdict);
    o["violations"] = nlohmann::ordered_json::array();
    for (const ViolationSummary& v : run.violations) {
      o["violations"].push_back(
          {{"id", v.id}, {"severity", v.severity}, {"count", v.count}, {"first_op", v.first_op}});
    }
    o["checks"] = nlohmann::ordered_json::array();
    for (const CheckResult& c : run.checks) {
      o["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"message", c.message}});
    }
    o["digest"] = absl::StrFormat("0x%016x", run.digest);
    o["ops"] = run.ops;
    o["virtual_time_ns"] = run.virtual_time_ns;
    o["host_time_s"] = run.host_time_s;
    j["runs"].push_back(std::move(o));
  }
  return j.dump(2) + "\n";
}

}  // namespace ppsim::chaos
