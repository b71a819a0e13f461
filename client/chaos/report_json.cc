// File: client/chaos/report_json.cc
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/chaos/report.h"
#include "client/lib/op_line.h"

namespace ppsim::chaos {

std::string ReplayCommand(const ScenarioResult& r, absl::string_view strategy,
                          const ReportContext& ctx) {
  std::string cmd = absl::StrCat("ppctl ", ctx.command, " ", r.file);
  if (ctx.command == "compare") {
    std::string all;
    if (strategy.empty()) {
      for (const RunResult& run : r.runs) {
        absl::StrAppend(&all, all.empty() ? "" : ",",
                        run.strategy.empty() ? "default" : run.strategy);
      }
    }
    absl::StrAppend(&cmd, " --strategies ", strategy.empty() ? all : std::string(strategy));
  } else if (!strategy.empty()) {
    absl::StrAppend(&cmd, " --strategy ", strategy);
  }
  if (ctx.seed) absl::StrAppend(&cmd, " --seed ", *ctx.seed);
  if (ctx.ops) absl::StrAppend(&cmd, " --ops ", *ctx.ops);
  if (!r.target.empty()) absl::StrAppend(&cmd, " --target ", r.target);
  return cmd;
}

std::string OpLineAt(const RunResult& run, uint64_t op) {
  if (op >= run.trace.size()) return "";
  const TracedOp& t = run.trace[op];
  return t.line.empty() ? client::FormatOpLine(t.op) : t.line;
}

std::string ReportJson(const ScenarioResult& r, const ReportContext& ctx) {
  nlohmann::ordered_json j;
  j["schema"] = kReportSchema;
  j["scenario"] = r.scenario;
  j["file"] = r.file;
  j["seed"] = r.seed;
  j["target"] = r.target.empty() ? "embedded" : r.target;
  j["replay"] = ReplayCommand(r, "", ctx);
  nlohmann::ordered_json reproduce = {{"command", ctx.command}};
  if (ctx.seed) reproduce["seed"] = *ctx.seed;
  if (ctx.ops) reproduce["ops"] = *ctx.ops;
  j["reproduce"] = std::move(reproduce);
  j["runs"] = nlohmann::ordered_json::array();
  for (const RunResult& run : r.runs) {
    nlohmann::ordered_json o;
    o["strategy"] = run.strategy.empty() ? "default" : run.strategy;
    o["verdict"] = VerdictName(run.verdict);
    o["violations"] = nlohmann::ordered_json::array();
    for (const ViolationSummary& v : run.violations) {
      nlohmann::ordered_json x = {
          {"id", v.id}, {"severity", v.severity}, {"count", v.count}, {"first_op", v.first_op}};
      if (std::string line = OpLineAt(run, v.first_op); !line.empty()) x["first_op_line"] = line;
      o["violations"].push_back(std::move(x));
    }
    o["checks"] = nlohmann::ordered_json::array();
    for (const CheckResult& c : run.checks) {
      o["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"message", c.message}});
    }
    o["digest"] = absl::StrFormat("0x%016x", run.digest);
    o["ops"] = run.ops;
    o["virtual_time_ns"] = run.virtual_time_ns;
    o["host_time_s"] = run.host_time_s;
    o["seed"] = run.seed;
    o["rejected_ops"] = run.rejected_ops;
    o["replay"] = ReplayCommand(r, run.strategy, ctx);
    const TeardownCosts& c = run.costs;
    o["costs"] = {{"drain_time_ns", c.drain_time_ns},
                  {"max_lock_hold_ns", c.max_lock_hold_ns},
                  {"removal_latency_ns", c.removal_latency_ns},
                  {"memory_overhead_bytes", c.memory_overhead_bytes},
                  {"strategy_host_ns", c.strategy_host_ns}};
    o["inflight"] = nlohmann::ordered_json::array();
    for (const InflightSample& s : run.inflight) {
      o["inflight"].push_back(nlohmann::ordered_json::array({s.op, s.time_ns, s.pages}));
    }
    o["events"] = nlohmann::ordered_json::array();
    for (const ViolationEvent& e : run.events) {
      o["events"].push_back({{"id", e.id}, {"op", e.op}, {"time_ns", e.time_ns}});
    }
    j["runs"].push_back(std::move(o));
  }
  return j.dump(2) + "\n";
}

}  // namespace ppsim::chaos
