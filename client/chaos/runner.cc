// File: client/chaos/runner.cc
#include "client/chaos/runner.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/chaos/bindings.h"
#include "client/chaos/costs.h"
#include "client/chaos/exit_codes.h"
#include "client/chaos/generator.h"
#include "client/chaos/scenario_loader.h"
#include "client/lib/op_line.h"
#include "server/sim/fault_injector.h"

namespace ppsim::chaos {

namespace {

constexpr char kLeakAtEnd[] = "PP017";
constexpr size_t kKeptRejections = 8;

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

bool IsTeardown(const v1::Op& op) {
  return op.has_unbind_driver() || op.has_remove_device() || op.has_surprise_remove() ||
         op.has_page_pool_destroy();
}

uint32_t TeardownDevice(const v1::Op& op) {
  if (op.has_unbind_driver()) return op.unbind_driver().device();
  if (op.has_remove_device()) return op.remove_device().device();
  if (op.has_surprise_remove()) return op.surprise_remove().device();
  return 0;
}

// `sometimes:` goals and whether they were reached.
class Goals {
 public:
  explicit Goals(const std::vector<std::string>& goals) {
    for (const std::string& g : goals) reached_[g] = false;
  }
  bool Any() const { return !reached_.empty(); }
  bool WantPools() const {
    return Wants("unbind_while_inflight") || Wants("pool_detached_with_inflight");
  }

  // After a teardown op (device != 0 for unbind/remove) or at a sample.
  void SeePools(const std::vector<v1::PoolInfo>& pools, uint32_t device) {
    for (const v1::PoolInfo& p : pools) {
      if (p.state() == "detached" && p.inflight_strict() > 0) {
        Reach("pool_detached_with_inflight");
        if (device != 0 && p.device() == device) Reach("unbind_while_inflight");
      }
    }
  }

  CheckResult Check(const LabFacts& f, const std::vector<ViolationSummary>& raised) {
    for (auto& [goal, reached] : reached_) {
      if (absl::StartsWith(goal, "violation:")) {
        reached = reached || Raised(raised, goal.substr(10));
      } else if (goal == "fault_fired" || absl::StartsWith(goal, "fault_fired:")) {
        for (const auto& [site, n] : f.faults_injected) {
          if (n > 0 && (goal == "fault_fired" || goal.substr(12) == site)) reached = true;
        }
      }
    }
    CheckResult c{.name = "sometimes"};
    std::vector<std::string> missed;
    for (const auto& [goal, reached] : reached_) {
      if (reached) continue;
      const bool blind = absl::StartsWith(goal, "fault_fired") && !f.faults_known;
      missed.push_back(blind ? absl::StrCat(goal, " (not observable on a remote target)") : goal);
    }
    c.ok = missed.empty();
    if (!c.ok) c.message = absl::StrCat("never reached: ", absl::StrJoin(missed, ", "));
    return c;
  }

 private:
  bool Wants(const std::string& g) const {
    auto it = reached_.find(g);
    return it != reached_.end() && !it->second;
  }
  void Reach(const std::string& g) {
    if (auto it = reached_.find(g); it != reached_.end()) it->second = true;
  }
  std::map<std::string, bool> reached_;
};

class Run {
 public:
  Run(const Scenario& s, LabSession& lab, const RunOptions& options, RunResult* out)
      : s_(s), lab_(lab), options_(options), out_(out), goals_(s.sometimes) {
    uint64_t expected = 2;
    for (const Step& step : s.steps) expected += step.repeat;
    if (s.chaos) {
      const uint64_t ops = options.chaos_ops.value_or(s.chaos->ops);
      expected += ops != 0 ? ops + ops / 4 : 10000;  // + setup and heal
    }
    sample_every_ =
        std::max<uint64_t>(1, expected / std::max<size_t>(1, options.inflight_samples));
  }

  absl::Status Steps() {
    for (size_t i = 0; i < s_.steps.size(); ++i) {
      const Step& step = s_.steps[i];
      for (uint32_t k = 0; k < step.repeat; ++k) {
        const std::string what = absl::StrCat("steps[", i, "]");
        absl::StatusOr<v1::Op> op = Resolve(step.op_line, step.loc, what);
        if (!op.ok()) return op.status();
        absl::StatusOr<BatchApplied> a = lab_.ApplyBatch({*op});
        if (!a.ok()) return a.status();
        if (a->rejected_index >= 0) {
          return Fail(step.loc, what,
                      absl::StrCat("op \"", FormatLine(*op), "\" rejected: ", a->rejected.message()));
        }
        now_ns_ = a->now_ns;
        if (absl::Status st = Applied(step, *op, a->results[0], k + 1 == step.repeat); !st.ok()) {
          return st;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Chaos(const std::string& strategy, uint64_t seed, uint32_t cpus) {
    ChaosSpec spec = *s_.chaos;
    if (options_.chaos_ops) spec.ops = *options_.chaos_ops;
    GeneratorOptions go;
    go.cpus = cpus;
    ChaosGenerator gen(spec, seed, strategy, go);
    const int64_t start = now_ns_;
    std::vector<v1::Op> ops;
    while (!gen.Done(now_ns_ - start)) {
      const std::vector<Step> steps = gen.Next(kChaosBatch);
      if (steps.empty()) break;
      ops.clear();
      for (const Step& step : steps) {
        absl::StatusOr<v1::Op> op = Resolve(step.op_line, step.loc, "chaos");
        // The generator only references what it has observed: an unresolvable reference is
        // its bug, and fatal (later steps would not make sense either).
        if (!op.ok()) {
          return absl::InternalError(
              absl::StrCat(op.status().message(), " (generated step \"", step.op_line, "\")"));
        }
        ops.push_back(*std::move(op));
      }
      size_t done = 0;
      while (done < ops.size()) {
        // With goals that look at teardowns, stop the batch right after each one.
        size_t end = ops.size();
        if (goals_.WantPools()) {
          for (size_t i = done; i < ops.size(); ++i) {
            if (IsTeardown(ops[i])) {
              end = i + 1;
              break;
            }
          }
        }
        absl::StatusOr<BatchApplied> a =
            lab_.ApplyBatch(absl::Span<const v1::Op>(ops).subspan(done, end - done));
        if (!a.ok()) return a.status();
        now_ns_ = a->now_ns;
        for (size_t i = 0; i < a->results.size(); ++i) {
          const Step& step = steps[done + i];
          if (absl::Status st = Applied(step, ops[done + i], a->results[i], true); !st.ok()) {
            return st;
          }
          gen.Observe(step, a->results[i]);
        }
        done += a->results.size();
        if (a->rejected_index >= 0) {
          const Step& step = steps[done];
          ++out_->rejected_ops;
          if (out_->rejections.size() < kKeptRejections) {
            out_->rejections.push_back(
                absl::StrCat("\"", step.op_line, "\": ", a->rejected.message()));
          }
          gen.Observe(step, v1::OpResult());
          ++done;
        } else if (goals_.WantPools() && done > 0 && IsTeardown(ops[done - 1])) {
          absl::StatusOr<std::vector<v1::PoolInfo>> pools = lab_.Pools();
          if (!pools.ok()) return pools.status();
          goals_.SeePools(*pools, TeardownDevice(ops[done - 1]));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Liveness() {
    const SourceLoc& loc = s_.liveness->loc;
    for (const std::string& line : {absl::StrCat("advance_time ns=", s_.liveness->advance_ns),
                                    std::string("liveness_check")}) {
      absl::StatusOr<v1::Op> op = Resolve(line, loc, "liveness");
      if (!op.ok()) return op.status();
      absl::StatusOr<BatchApplied> a = lab_.ApplyBatch({*op});
      if (!a.ok()) return a.status();
      if (a->rejected_index >= 0) {
        return Fail(loc, "liveness", absl::StrCat("op \"", line, "\" rejected: ",
                                                  a->rejected.message()));
      }
      now_ns_ = a->now_ns;
      Step step{.op_line = line, .loc = loc};
      if (absl::Status st = Applied(step, *op, a->results[0], true); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  Goals& goals() { return goals_; }

 private:
  static absl::Status Fail(const SourceLoc& loc, absl::string_view what, absl::string_view msg) {
    return absl::InvalidArgumentError(absl::StrCat(loc.file, ":", loc.line, ": ", what, ": ", msg));
  }
  static std::string FormatLine(const v1::Op& op) { return client::FormatOpLine(op); }

  absl::StatusOr<v1::Op> Resolve(const std::string& text, const SourceLoc& loc,
                                 absl::string_view what) {
    absl::StatusOr<std::string> line = bindings_.Resolve(text);
    if (!line.ok()) return Fail(loc, what, line.status().message());
    absl::StatusOr<v1::Op> op = client::ParseOpLine(*line);
    if (!op.ok()) return Fail(loc, what, absl::StrCat("\"", *line, "\": ", op.status().message()));
    return op;
  }

  // Book-keeping for one applied op: binding, trace, inflight samples.
  absl::Status Applied(const Step& step, const v1::Op& op, const v1::OpResult& r, bool bind) {
    if (bind && !step.as.empty()) bindings_.Bind(step.as, r);
    if (options_.record_trace) {
      out_->trace.push_back(TracedOp{.op = op, .line = step.op_line, .as = bind ? step.as : ""});
    }
    ++applied_;
    if ((options_.sample_inflight || goals_.WantPools()) && applied_ >= next_sample_) {
      next_sample_ = applied_ + sample_every_;
      absl::StatusOr<std::vector<v1::PoolInfo>> pools = lab_.Pools();
      if (!pools.ok()) return pools.status();
      goals_.SeePools(*pools, 0);
      if (options_.sample_inflight) {
        int64_t pages = 0;
        for (const v1::PoolInfo& p : *pools) {
          if (p.state() != "freed") pages += p.inflight_strict();
        }
        // Within a batch the time is the batch's end (a remote batch reports one time).
        out_->inflight.push_back(
            InflightSample{.op = applied_ - 1, .time_ns = now_ns_, .pages = pages});
      }
    }
    return absl::OkStatus();
  }

  const Scenario& s_;
  LabSession& lab_;
  const RunOptions& options_;
  RunResult* out_;
  Goals goals_;
  Bindings bindings_;
  int64_t now_ns_ = 0;
  uint64_t applied_ = 0;
  uint64_t sample_every_ = 1;
  uint64_t next_sample_ = 0;
};

absl::Status Judge(const Scenario& s, LabSession& lab, const std::string& strategy, Run& run,
                   RunResult* out) {
  absl::StatusOr<LabFacts> facts = lab.Facts();
  if (!facts.ok()) return facts.status();
  out->violations = Summarize(facts->violations);
  out->digest = facts->digest;
  out->ops = facts->ops;
  out->virtual_time_ns = facts->now_ns;
  out->costs = CostsOf(*facts);
  for (const v1::Violation& v : facts->violations.violations()) {
    out->events.push_back(
        ViolationEvent{.id = v.id(), .op = v.op_index(), .time_ns = v.time_ns()});
  }
  std::sort(out->events.begin(), out->events.end(),
            [](const ViolationEvent& a, const ViolationEvent& b) { return a.op < b.op; });
  if (!out->inflight.empty() || out->ops == 0) {
    int64_t pages = 0;
    for (const v1::PoolInfo& p : facts->pools) {
      if (p.state() != "freed") pages += p.inflight_strict();
    }
    if (out->inflight.empty() || out->inflight.back().op + 1 < out->ops) {
      out->inflight.push_back(InflightSample{
          .op = out->ops == 0 ? 0 : out->ops - 1, .time_ns = facts->now_ns, .pages = pages});
    }
  }
  out->checks.push_back(CheckExpect(s.ExpectFor(strategy.empty() ? "default" : strategy),
                                    out->violations));
  const CheckResult* liveness = nullptr;
  const CheckResult* sometimes = nullptr;
  if (s.liveness) out->checks.push_back(CheckLiveness(*facts));
  if (run.goals().Any()) out->checks.push_back(run.goals().Check(*facts, out->violations));
  for (const CheckResult& c : out->checks) {
    if (c.name == "liveness") liveness = &c;
    if (c.name == "sometimes") sometimes = &c;
  }
  if (!out->checks[0].ok) {
    out->verdict = Verdict::kSafety;
  } else if (liveness != nullptr && !liveness->ok) {
    out->verdict = Verdict::kLiveness;
  } else if (sometimes != nullptr && !sometimes->ok) {
    out->verdict = Verdict::kUnknown;
  }
  return absl::OkStatus();
}

absl::StatusOr<RunResult> RunWith(const Scenario& s, LabSession& lab, const std::string& strategy,
                                  const RunOptions& options, const v1::LabConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  RunResult out;
  out.strategy = strategy;
  out.seed = config.seed();
  Run run(s, lab, options, &out);
  if (absl::Status st = run.Steps(); !st.ok()) return st;
  if (s.chaos) {
    const uint32_t cpus = config.cpus() != 0 ? config.cpus() : 4;
    if (absl::Status st = run.Chaos(strategy, config.seed(), cpus); !st.ok()) return st;
  }
  if (s.liveness) {
    if (absl::Status st = run.Liveness(); !st.ok()) return st;
  }
  if (absl::Status st = Judge(s, lab, strategy, run, &out); !st.ok()) return st;
  out.host_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

v1::LabConfig ConfigFor(const Scenario& s, const std::string& strategy,
                        const RunOptions& options) {
  v1::LabConfig config = LabConfigFor(s, strategy);
  if (options.seed) config.set_seed(*options.seed);
  return config;
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kSafety: return "safety";
    case Verdict::kLiveness: return "liveness";
    case Verdict::kUnknown: return "unknown";
  }
  return "unknown";
}

bool IsSometimesGoal(const std::string& goal) {
  if (goal == "unbind_while_inflight" || goal == "pool_detached_with_inflight" ||
      goal == "fault_fired") {
    return true;
  }
  if (absl::StartsWith(goal, "fault_fired:")) {
    return sim::ParseFaultSite(goal.substr(12)).ok();
  }
  if (absl::StartsWith(goal, "violation:")) {
    const std::string id = goal.substr(10);
    int n = 0;
    return id.size() == 5 && absl::StartsWith(id, "PP") && absl::SimpleAtoi(id.substr(2), &n) &&
           n >= 1 && n <= 17;
  }
  return false;
}

absl::StatusOr<RunResult> RunOnLab(const Scenario& s, LabSession& lab,
                                   const std::string& strategy, const RunOptions& options) {
  return RunWith(s, lab, strategy, options, ConfigFor(s, strategy, options));
}

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& s, LabTarget& target,
                                           const RunOptions& options) {
  ScenarioResult out{.scenario = s.name, .file = s.file,
                     .seed = options.seed.value_or(s.lab.seed), .target = target.Address()};
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
    const v1::LabConfig config = ConfigFor(s, strategy, options);
    absl::StatusOr<std::unique_ptr<LabSession>> lab =
        target.NewLab(absl::StrCat("run ", s.name, " ", strategy), config);
    if (!lab.ok()) return lab.status();
    absl::StatusOr<RunResult> r = RunWith(s, **lab, strategy, options, config);
    if (!r.ok()) return r.status();
    out.runs.push_back(*std::move(r));
  }
  return out;
}

int ExitCodeFor(const ScenarioResult& r) {
  bool liveness = false;
  bool unknown = false;
  for (const RunResult& run : r.runs) {
    if (run.verdict == Verdict::kSafety) return kExitSafety;
    liveness = liveness || run.verdict == Verdict::kLiveness;
    unknown = unknown || run.verdict == Verdict::kUnknown;
  }
  return liveness ? kExitLiveness : unknown ? kExitUnknown : kExitPass;
}

}  // namespace ppsim::chaos
