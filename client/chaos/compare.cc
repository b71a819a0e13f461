// File: client/chaos/compare.cc
#include "client/chaos/compare.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chaos/costs.h"
#include "server/sim/teardown_strategy.h"

namespace ppsim::chaos {

std::vector<std::string> KnownStrategies() {
  std::vector<std::string> out;
  for (const sim::StrategyInfo& s : sim::StrategyRegistry()) out.emplace_back(s.name);
  return out;
}

absl::Status CheckStrategies(const std::vector<std::string>& strategies) {
  const std::vector<std::string> known = KnownStrategies();
  if (strategies.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--strategies: empty; valid: ", absl::StrJoin(known, ", ")));
  }
  for (size_t i = 0; i < strategies.size(); ++i) {
    const std::string& name = strategies[i];
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--strategies: unknown strategy \"", name,
                                                     "\"; valid: ", absl::StrJoin(known, ", ")));
    }
    if (std::find(strategies.begin(), strategies.begin() + i, name) != strategies.begin() + i) {
      return absl::InvalidArgumentError(
          absl::StrCat("--strategies: \"", name, "\" is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ScenarioResult> Compare(const Scenario& s, LabTarget& target,
                                       const CompareOptions& options) {
  if (absl::Status st = CheckStrategies(options.strategies); !st.ok()) return st;
  Scenario workload = s;
  workload.strategies = options.strategies;
  return RunScenario(workload, target,
                     {.seed = options.seed, .chaos_ops = options.ops,
                      .record_trace = options.record_trace,
                      .sample_inflight = options.sample_inflight});
}

std::string CompareTable(const ScenarioResult& r) {
  std::vector<std::vector<std::string>> rows = {{"strategy", "verdict", "violations", "drain",
                                                 "lock hold", "removal", "memory", "host time",
                                                 "in strategy", "digest"}};
  for (const RunResult& run : r.runs) {
    std::vector<std::string> ids;
    for (const ViolationSummary& v : run.violations) {
      ids.push_back(absl::StrCat(v.id, "x", v.count));
    }
    rows.push_back({run.strategy.empty() ? "default" : run.strategy, VerdictName(run.verdict),
                    ids.empty() ? "-" : absl::StrJoin(ids, ","),
                    FormatDrain(run.costs.drain_time_ns), FormatNanos(run.costs.max_lock_hold_ns),
                    FormatRemoval(run.costs.removal_latency_ns),
                    FormatBytes(run.costs.memory_overhead_bytes),
                    absl::StrFormat("%.3f s", run.host_time_s),
                    FormatNanos(static_cast<int64_t>(run.costs.strategy_host_ns)),
                    absl::StrFormat("0x%016x", run.digest)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, c == 0 ? "" : "  ", row[c],
                      c + 1 == row.size() ? "" : std::string(width[c] - row[c].size(), ' '));
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace ppsim::chaos
