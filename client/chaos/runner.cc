// File: client/chaos/runner.cc
#include "client/chaos/runner.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/chaos/bindings.h"
#include "client/chaos/scenario_loader.h"
#include "client/lib/op_line.h"

namespace ppsim::chaos {

namespace {

constexpr char kLeakAtEnd[] = "PP017";

std::string SeverityText(v1::Severity s) {
  std::string name = v1::Severity_Name(s);  // SEVERITY_CRASH
  return absl::AsciiStrToLower(name.substr(name.find('_') + 1));
}

std::vector<ViolationSummary> Summarize(const v1::ListViolationsResponse& v) {
  std::map<std::string, ViolationSummary> by_id;
  for (const auto& [id, n] : v.counts()) {
    if (n != 0) by_id[id] = {.id = id, .count = n};
  }
  for (const v1::Violation& x : v.violations()) {
    auto it = by_id.find(x.id());
    if (it == by_id.end()) continue;
    ViolationSummary& s = it->second;
    if (s.severity.empty() || x.op_index() < s.first_op) {
      s.first_op = x.op_index();
      s.severity = SeverityText(x.severity());
    }
  }
  std::vector<ViolationSummary> out;
  for (auto& [id, s] : by_id) out.push_back(std::move(s));
  return out;
}

bool Raised(const std::vector<ViolationSummary>& v, const std::string& id) {
  return std::any_of(v.begin(), v.end(), [&](const ViolationSummary& s) { return s.id == id; });
}

CheckResult CheckExpect(const Expectation* e, const std::vector<ViolationSummary>& raised) {
  CheckResult c{.name = "expect"};
  std::vector<std::string> problems;
  const auto listed = [&](const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (e != nullptr) {
    for (const std::string& id : e->occur) {
      if (!Raised(raised, id)) problems.push_back(absl::StrCat(id, " expected but never raised"));
    }
  }
  for (const ViolationSummary& v : raised) {
    const bool named = e != nullptr && (listed(e->occur, v.id) || listed(e->forbid, v.id));
    if (v.id == kLeakAtEnd && !named) continue;  // the liveness check's business
    const bool forbidden = e == nullptr ? true
                           : listed(e->forbid, v.id) || (e->none && !listed(e->occur, v.id));
    if (forbidden) {
      problems.push_back(absl::StrCat(v.id, " raised ", v.count, "x (first at op ", v.first_op,
                                      ") but not allowed"));
    }
  }
  c.ok = problems.empty();
  c.message = absl::StrJoin(problems, "; ");
  return c;
}

CheckResult CheckLiveness(const LabFacts& f) {
  CheckResult c{.name = "liveness"};
  std::vector<std::string> stuck;
  for (const v1::PoolInfo& p : f.pools) {
    if (p.state() != "freed" && p.inflight_strict() > 0) {  // as liveness_check judges
      stuck.push_back(absl::StrCat("pool ", p.id(), " inflight ", p.inflight_strict()));
    }
  }
  c.ok = stuck.empty();
  if (!c.ok) c.message = absl::StrCat(kLeakAtEnd, ": ", absl::StrJoin(stuck, ", "));
  return c;
}

class Run {
 public:
  Run(const Scenario& s, LabSession& lab) : s_(s), lab_(lab) {}

  // Applies one op line; a rejection or bad reference becomes a scenario error at `loc`.
  absl::Status Apply(const std::string& text, const SourceLoc& loc, const std::string& what,
                     v1::OpResult* result) {
    auto fail = [&](absl::string_view msg) {
      return absl::InvalidArgumentError(absl::StrCat(loc.file, ":", loc.line, ": ", what, ": ", msg));
    };
    absl::StatusOr<std::string> line = bindings_.Resolve(text);
    if (!line.ok()) return fail(line.status().message());
    absl::StatusOr<v1::Op> op = client::ParseOpLine(*line);
    if (!op.ok()) return fail(absl::StrCat("\"", *line, "\": ", op.status().message()));
    absl::StatusOr<Applied> a = lab_.Apply(*op);
    if (!a.ok()) return a.status();
    if (!a->rejected.ok()) {
      return fail(absl::StrCat("op \"", *line, "\" rejected: ", a->rejected.message()));
    }
    *result = std::move(a->result);
    return absl::OkStatus();
  }

  absl::Status Steps() {
    for (size_t i = 0; i < s_.steps.size(); ++i) {
      const Step& step = s_.steps[i];
      v1::OpResult r;
      for (uint32_t k = 0; k < step.repeat; ++k) {
        if (absl::Status st = Apply(step.op_line, step.loc, absl::StrCat("steps[", i, "]"), &r);
            !st.ok()) {
          return st;
        }
      }
      if (!step.as.empty()) bindings_.Bind(step.as, std::move(r));
    }
    return absl::OkStatus();
  }

  absl::Status Liveness() {
    v1::OpResult ignored;
    const SourceLoc& loc = s_.liveness->loc;
    if (absl::Status st = Apply(absl::StrCat("advance_time ns=", s_.liveness->advance_ns), loc,
                                "liveness", &ignored);
        !st.ok()) {
      return st;
    }
    return Apply("liveness_check", loc, "liveness", &ignored);
  }

 private:
  const Scenario& s_;
  LabSession& lab_;
  Bindings bindings_;
};

absl::StatusOr<RunResult> RunOne(const Scenario& s, LabTarget& target,
                                 const std::string& strategy) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<LabSession>> lab =
      target.NewLab(absl::StrCat("run ", s.name, " ", strategy), LabConfigFor(s, strategy));
  if (!lab.ok()) return lab.status();
  Run run(s, **lab);
  if (absl::Status st = run.Steps(); !st.ok()) return st;
  if (s.liveness) {
    if (absl::Status st = run.Liveness(); !st.ok()) return st;
  }
  absl::StatusOr<LabFacts> facts = (*lab)->Facts();
  if (!facts.ok()) return facts.status();
  RunResult out;
  out.strategy = strategy;
  out.violations = Summarize(facts->violations);
  out.digest = facts->digest;
  out.ops = facts->ops;
  out.virtual_time_ns = facts->now_ns;
  out.checks.push_back(CheckExpect(s.ExpectFor(strategy.empty() ? "default" : strategy),
                                   out.violations));
  if (s.liveness) out.checks.push_back(CheckLiveness(*facts));
  if (!out.checks[0].ok) {
    out.verdict = Verdict::kSafety;
  } else if (out.checks.size() > 1 && !out.checks[1].ok) {
    out.verdict = Verdict::kLiveness;
  }
  out.host_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kSafety: return "safety";
    case Verdict::kLiveness: return "liveness";
  }
  return "unknown";
}

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& s, LabTarget& target,
                                           const RunOptions& options) {
  ScenarioResult out{.scenario = s.name, .file = s.file, .seed = s.lab.seed,
                     .target = target.Address()};
  std::vector<std::string> runs = s.strategies;
  if (runs.empty()) runs.push_back("");
  for (const std::string& wanted : options.strategies) {
    if (std::find(runs.begin(), runs.end(), wanted) == runs.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          s.file, ": --strategy ", wanted, ": the scenario runs ",
          s.strategies.empty() ? "no named strategies" : absl::StrJoin(s.strategies, ", ")));
    }
  }
  for (const std::string& strategy : runs) {
    if (!options.strategies.empty() &&
        std::find(options.strategies.begin(), options.strategies.end(), strategy) ==
            options.strategies.end()) {
      continue;
    }
    absl::StatusOr<RunResult> r = RunOne(s, target, strategy);
    if (!r.ok()) return r.status();
    out.runs.push_back(*std::move(r));
  }
  return out;
}

int ExitCodeFor(const ScenarioResult& r) {
  bool liveness = false;
  for (const RunResult& run : r.runs) {
    if (run.verdict == Verdict::kSafety) return 1;
    liveness = liveness || run.verdict == Verdict::kLiveness;
  }
  return liveness ? 3 : 0;
}

}  // namespace ppsim::chaos
