// File: client/chaos/shrink.cc
// The shrinker of shrink.h. Candidates are index lists into the trace's steps; every one is
// executed on a fresh sim::Lab (server/convert, as the embedded target and ppsimd apply
// ops), stopping at the first op that raises the id.
#include "client/chaos/shrink.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/chaos/bindings.h"
#include "client/lib/op_line.h"
#include "server/convert/info_convert.h"
#include "server/convert/op_convert.h"
#include "server/sim/lab.h"
#include "server/sim/violation.h"

namespace ppsim::chaos {

namespace {

// Ids of warning and leak severity (PP005, PP011–PP014, PP017) are allowed to appear while
// shrinking: they are the timing and lifetime side effects of deleting steps (a page still
// held past a destroy, a pool that now drains later), not a different kind of bug, and
// refusing them stalls ddmin on any long chaos trace. Crash and corruption ids that the
// original did not raise stay refused: those are where a reproducer would start lying.
uint32_t LifetimeSideEffectIds() {
  uint32_t mask = 0;
  for (const sim::CatalogEntry& e : sim::ViolationCatalog()) {
    if (e.severity == sim::Severity::kWarning || e.severity == sim::Severity::kLeak) {
      mask |= 1u << (static_cast<int>(e.id) - 1);
    }
  }
  return mask;
}

using Candidate = std::vector<uint32_t>;  // indices into the trace's steps, ascending

// A step result referenced by more steps than this is a "hub" (a device, a NAPI pool): the
// closure phase does not pull in everything that touches it (ddmin sorts those out).
constexpr size_t kHubFanout = 16;

// Steps prepared once: their $reference dependencies and, for steps without references, the
// sim op already parsed and converted (advance_time and friends are executed thousands of
// times during a shrink).
class Program {
 public:
  Program(const v1::LabConfig& config, sim::ViolationId id, bool stop, std::vector<ShrinkStep> s)
      : config_(config), id_(id), stop_(stop), steps_(std::move(s)) {
    deps_.resize(steps_.size());
    fanout_.resize(steps_.size());
    literal_.resize(steps_.size());
    std::map<std::string, uint32_t> binder;
    for (uint32_t i = 0; i < steps_.size(); ++i) {
      Prepare(i, binder);
      if (!steps_[i].as.empty()) binder[steps_[i].as] = i;
    }
  }

  size_t size() const { return steps_.size(); }
  const ShrinkStep& step(uint32_t i) const { return steps_[i]; }
  const std::vector<uint32_t>& deps(uint32_t i) const { return deps_[i]; }
  size_t fanout(uint32_t i) const { return fanout_[i]; }

  // The fidelity rule (shrink.h): a run that raises an id outside `ids` (a StepRun::ids mask)
  // stops there, marked `introduced`. All ids are allowed until this is called.
  void set_allowed(uint32_t ids) { allowed_ = ids; }

  // Replaces step i's line (advance_time simplification); re-prepares its literal op.
  void SetLine(uint32_t i, std::string line) {
    steps_[i].line = std::move(line);
    std::map<std::string, uint32_t> none;
    literal_[i].reset();
    Prepare(i, none);
  }

  absl::StatusOr<StepRun> Run(const Candidate& c) const {
    absl::StatusOr<sim::LabConfig> sc = convert::LabConfigFromProto(config_);
    if (!sc.ok()) return sc.status();
    absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(*sc);
    if (!lab.ok()) return lab.status();
    StepRun out;
    Bindings bindings;
    const bool watch = id_ != sim::ViolationId{};
    bool tracking = true;  // ids are collected up to and including the raising op
    for (size_t k = 0; k < c.size(); ++k) {
      const uint32_t i = c[k];
      const ShrinkStep& step = steps_[i];
      std::optional<sim::Op> resolved;
      const sim::Op* op = literal_[i] ? &*literal_[i] : nullptr;
      if (op == nullptr) {
        absl::StatusOr<std::string> line = bindings.Resolve(step.line);
        absl::StatusOr<v1::Op> proto = line.ok() ? client::ParseOpLine(*line)
                                                 : absl::StatusOr<v1::Op>(line.status());
        absl::StatusOr<sim::Op> s = proto.ok() ? convert::OpFromProto(*proto)
                                               : absl::StatusOr<sim::Op>(proto.status());
        if (!s.ok()) return Invalid(out, k, s.status());
        resolved = *std::move(s);
        op = &*resolved;
      }
      const uint64_t before = watch ? (*lab)->violation_count(id_) : 0;
      absl::StatusOr<sim::OpResult> r = (*lab)->Apply(*op);
      if (!r.ok()) return Invalid(out, k, r.status());
      out.applied = k + 1;
      if (tracking) {
        // Only ids not seen yet can change the mask: a handful of counter reads per op.
        for (int n = 0; n < sim::kViolationCount; ++n) {
          const uint32_t bit = 1u << n;
          if ((out.ids & bit) != 0) continue;
          if ((*lab)->violation_count(static_cast<sim::ViolationId>(n + 1)) == 0) continue;
          out.ids |= bit;
          if ((allowed_ & bit) == 0 && !out.introduced) {
            out.introduced = true;
            out.introduced_at = k;
            out.introduced_id = ViolationIdsOf(bit).front();
          }
        }
        if (out.introduced) break;  // the candidate is rejected whatever follows
      }
      if (!step.as.empty()) {
        v1::OpResult proto;
        convert::OpResultToProto(*r, &proto);
        bindings.Bind(step.as, std::move(proto));
      }
      if (watch && !out.raised && (*lab)->violation_count(id_) > before) {
        out.raised = true;
        out.raised_at = k;
        tracking = false;
        if (stop_) break;
      }
    }
    out.digest = (*lab)->digest();
    return out;
  }

 private:
  void Prepare(uint32_t i, const std::map<std::string, uint32_t>& binder) {
    const std::string& line = steps_[i].line;
    if (!absl::StrContains(line, '$')) {
      absl::StatusOr<v1::Op> proto = client::ParseOpLine(line);
      if (proto.ok()) {
        absl::StatusOr<sim::Op> s = convert::OpFromProto(*proto);
        if (s.ok()) literal_[i] = *std::move(s);
      }
      return;  // a bad line fails when run (Resolve/Parse in Run), as an invalid candidate
    }
    absl::StatusOr<std::vector<Reference>> refs = FindReferences(line);
    if (!refs.ok()) return;
    for (const Reference& ref : *refs) {
      auto it = binder.find(ref.name);
      if (it == binder.end()) continue;
      if (std::find(deps_[i].begin(), deps_[i].end(), it->second) == deps_[i].end()) {
        deps_[i].push_back(it->second);
        ++fanout_[it->second];
      }
    }
  }

  static StepRun Invalid(StepRun out, size_t k, const absl::Status& why) {
    out.valid = false;
    out.bad_step = k;
    out.why = std::string(why.message());
    return out;
  }

  v1::LabConfig config_;
  sim::ViolationId id_;
  bool stop_;
  uint32_t allowed_ = ~0u;
  std::vector<ShrinkStep> steps_;
  std::vector<std::vector<uint32_t>> deps_;   // binder steps each step references
  std::vector<size_t> fanout_;                // how many steps reference each step
  std::vector<std::optional<sim::Op>> literal_;
};

absl::StatusOr<sim::ViolationId> IdOf(const std::string& violation) {
  if (violation.empty()) return sim::ViolationId{};
  absl::StatusOr<sim::ViolationId> id = sim::ParseViolationId(violation);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("violation: \"", violation, "\" is not a violation id (PP001..PP018)"));
  }
  return id;
}

class Shrinker {
 public:
  Shrinker(Program& p, const ShrinkOptions& o) : p_(p), o_(o) {}

  absl::StatusOr<ShrinkResult> Go() {
    const auto start = std::chrono::steady_clock::now();
    ShrinkResult out;
    out.original = p_.size();
    Candidate all(p_.size());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    absl::StatusOr<StepRun> first = Exec(all);
    if (!first.ok()) return first.status();
    if (!first->valid) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the trace does not replay: step ", first->bad_step, " \"",
          p_.step(all[first->bad_step]).line, "\": ", first->why));
    }
    if (!first->raised) {
      out.outcome = ShrinkResult::Outcome::kNotRaised;
      out.runs = runs_;
      return out;
    }
    best_ = Candidate(all.begin(), all.begin() + first->raised_at + 1);
    out.cut = best_.size();
    out.original_ids = ViolationIdsOf(first->ids);
    if (!o_.allow_new_violations) p_.set_allowed(first->ids | LifetimeSideEffectIds());
    Report("cut");
    const bool done = Closure() && (!o_.simplify_time || MergeTime()) && Ddmin() && Single() &&
                      (!o_.simplify_time || (MergeTime() && Single() && SimplifyTime()));
    out.outcome = done ? ShrinkResult::Outcome::kShrunk : ShrinkResult::Outcome::kBudget;
    out.kept.assign(best_.begin(), best_.end());
    for (uint32_t i : best_) out.steps.push_back(p_.step(i));
    out.runs = runs_;
    out.rejected_new = rejected_new_;
    out.rejected_by_id = rejected_by_id_;
    out.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
  }

 private:
  bool Budget() const { return runs_ < o_.max_runs; }

  void Report(const char* phase) {
    if (o_.progress) o_.progress({.phase = phase, .runs = runs_, .steps = best_.size()});
  }

  absl::StatusOr<StepRun> Exec(const Candidate& c) {
    ++runs_;
    if (o_.progress && runs_ % 50 == 0) Report(phase_);
    return p_.Run(c);
  }

  // Whether a candidate's run reproduces: every op valid, the id raised, no new id raised.
  bool Reproduces(const absl::StatusOr<StepRun>& r) {
    if (!r.ok()) return false;
    if (r->introduced) {
      ++rejected_new_;
      ++rejected_by_id_[r->introduced_id];
    }
    return r->valid && r->raised && !r->introduced;
  }

  // Runs `c` (closed under references first); on reproduction makes it, cut after the raising
  // op, the new best. False when it does not reproduce, is invalid or the budget is spent.
  bool Try(Candidate c) {
    c = Close(c);
    if (c.size() >= best_.size() || !Budget()) return false;
    absl::StatusOr<StepRun> r = Exec(c);
    if (!Reproduces(r)) return false;  // invalid candidates are never "passing"
    c.resize(r->raised_at + 1);
    best_ = std::move(c);
    return true;
  }

  // `c` minus every step whose reference's binder is not in it, transitively (one pass: a
  // binder always precedes its users).
  Candidate Close(const Candidate& c) {
    kept_.assign(p_.size(), 0);
    Candidate out;
    out.reserve(c.size());
    for (uint32_t i : c) {
      bool ok = true;
      for (uint32_t d : p_.deps(i)) ok = ok && kept_[d] != 0;
      if (!ok) continue;
      kept_[i] = 1;
      out.push_back(i);
    }
    return out;
  }

  // The steps `roots` need, transitively.
  std::set<uint32_t> Needs(std::vector<uint32_t> roots) const {
    std::set<uint32_t> out;
    while (!roots.empty()) {
      const uint32_t i = roots.back();
      roots.pop_back();
      if (!out.insert(i).second) continue;
      for (uint32_t d : p_.deps(i)) roots.push_back(d);
    }
    return out;
  }

  bool Closure() {
    phase_ = "closure";
    const std::set<uint32_t> c1 = Needs({best_.back()});
    const std::set<uint32_t> in_best(best_.begin(), best_.end());
    // Steps that use what the closure created: without hubs, then with them.
    for (const bool hubs : {false, true}) {
      std::vector<uint32_t> roots(c1.begin(), c1.end());
      for (uint32_t i : best_) {
        for (uint32_t d : p_.deps(i)) {
          if (c1.count(d) != 0 && (hubs || p_.fanout(d) <= kHubFanout)) roots.push_back(i);
        }
      }
      const std::set<uint32_t> c2 = Needs(roots);
      candidates_.push_back(Candidate(c2.begin(), c2.end()));
    }
    if (!Try(Candidate(c1.begin(), c1.end())) && !Try(candidates_[0])) Try(candidates_[1]);
    Report("closure");
    return Budget();
  }

  bool Ddmin() {
    phase_ = "ddmin";
    size_t n = 2;
    while (best_.size() >= 2) {
      if (!Budget()) return false;
      const size_t len = best_.size();
      n = std::min(n, len);
      bool reduced = false;
      // Later chunks first: the raising op is last, and what it needs is usually near it;
      // removing early chunks first would keep failing on the device setup.
      for (size_t k = n; k-- > 0 && !reduced;) {
        const size_t lo = len * k / n;
        const size_t hi = len * (k + 1) / n;
        Candidate c;
        c.reserve(len - (hi - lo));
        c.insert(c.end(), best_.begin(), best_.begin() + lo);
        c.insert(c.end(), best_.begin() + hi, best_.end());
        reduced = Try(std::move(c));
      }
      if (reduced) {
        n = std::max<size_t>(n - 1, 2);
        continue;
      }
      if (!Budget()) return false;
      if (n >= len) break;
      n = std::min(2 * n, len);
    }
    Report("ddmin");
    return Budget();
  }

  bool Single() {
    phase_ = "single";
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t k = best_.size(); k-- > 0;) {
        if (!Budget()) return false;
        if (k >= best_.size()) continue;
        Candidate c = best_;
        c.erase(c.begin() + k);
        if (Try(std::move(c))) changed = true;
      }
    }
    Report("single");
    return Budget();
  }

  // Step i as a literal advance_time op (no $references), or nullopt.
  std::optional<v1::Op> Advance(uint32_t i) const {
    if (absl::StrContains(p_.step(i).line, '$')) return std::nullopt;
    absl::StatusOr<v1::Op> op = client::ParseOpLine(p_.step(i).line);
    if (!op.ok() || !op->has_advance_time()) return std::nullopt;
    return *op;
  }

  // Adjacent advance_time steps become one advancing by their sum (the same timers fire, in the
  // same order): a bug that needs 60 s of time spread over many small steps keeps one step.
  bool MergeTime() {
    phase_ = "merge";
    // First all of them into the last one: one run, and ddmin then no longer has to keep
    // dozens of small steps that only matter together.
    std::vector<size_t> at;
    int64_t total = 0;
    for (size_t k = 0; k < best_.size(); ++k) {
      if (std::optional<v1::Op> op = Advance(best_[k])) {
        at.push_back(k);
        total += op->advance_time().ns();
      }
    }
    if (at.size() >= 2 && Budget()) {
      const uint32_t last = best_[at.back()];
      const std::string old = p_.step(last).line;
      v1::Op merged = *Advance(last);
      merged.mutable_advance_time()->set_ns(total);
      p_.SetLine(last, client::FormatOpLine(merged));
      Candidate c;
      for (size_t k = 0, a = 0; k < best_.size(); ++k) {
        while (a < at.size() && at[a] < k) ++a;
        if (a < at.size() - 1 && at[a] == k) continue;  // merged away
        c.push_back(best_[k]);
      }
      if (!Try(std::move(c))) p_.SetLine(last, old);
    }
    for (size_t k = 0; k < best_.size();) {
      size_t e = k;
      int64_t sum = 0;
      for (std::optional<v1::Op> op; e < best_.size() && (op = Advance(best_[e]));) {
        sum += op->advance_time().ns();
        ++e;
      }
      if (e - k < 2) {
        k = std::max(e, k + 1);
        continue;
      }
      if (!Budget()) return false;
      const uint32_t last = best_[e - 1];
      const std::string old = p_.step(last).line;
      v1::Op merged = *Advance(last);
      merged.mutable_advance_time()->set_ns(sum);
      p_.SetLine(last, client::FormatOpLine(merged));
      Candidate c(best_.begin(), best_.begin() + k);
      c.insert(c.end(), best_.begin() + e - 1, best_.end());
      if (Try(std::move(c))) {
        ++k;
      } else {
        p_.SetLine(last, old);
        k = e;
      }
    }
    Report("merge");
    return Budget();
  }

  // Halves each literal advance_time while the id still reproduces.
  bool SimplifyTime() {
    phase_ = "time";
    for (size_t k = 0; k < best_.size(); ++k) {
      const uint32_t i = best_[k];
      absl::StatusOr<v1::Op> op = client::ParseOpLine(p_.step(i).line);
      if (absl::StrContains(p_.step(i).line, '$') || !op.ok() || !op->has_advance_time()) continue;
      for (int halvings = 0; halvings < 24 && op->advance_time().ns() > 1; ++halvings) {
        if (!Budget()) return false;
        const std::string old = p_.step(i).line;
        v1::Op smaller = *op;
        smaller.mutable_advance_time()->set_ns(op->advance_time().ns() / 2);
        p_.SetLine(i, client::FormatOpLine(smaller));
        absl::StatusOr<StepRun> r = Exec(best_);
        if (!Reproduces(r)) {
          p_.SetLine(i, old);
          break;
        }
        *op = smaller;
        best_.resize(r->raised_at + 1);
        if (k >= best_.size()) break;
      }
    }
    Report("time");
    return true;
  }

  Program& p_;
  const ShrinkOptions& o_;
  Candidate best_;
  std::vector<Candidate> candidates_;
  std::vector<char> kept_;
  uint64_t runs_ = 0;
  uint64_t rejected_new_ = 0;
  std::map<std::string, uint64_t> rejected_by_id_;
  const char* phase_ = "trace";
};

}  // namespace

std::vector<std::string> ViolationIdsOf(uint32_t ids) {
  std::vector<std::string> out;
  for (int n = 0; n < sim::kViolationCount; ++n) {
    if ((ids & (1u << n)) != 0) {
      out.emplace_back(sim::CatalogOf(static_cast<sim::ViolationId>(n + 1)).code);
    }
  }
  return out;
}

std::vector<ShrinkStep> StepsOf(const Trace& t) {
  std::vector<ShrinkStep> out;
  out.reserve(t.ops.size());
  for (const TracedOp& op : t.ops) {
    out.push_back({.line = op.line.empty() ? client::FormatOpLine(op.op) : op.line, .as = op.as});
  }
  return out;
}

absl::StatusOr<StepRun> RunSteps(const v1::LabConfig& config, const std::vector<ShrinkStep>& steps,
                                 const std::string& violation, bool stop_when_raised) {
  absl::StatusOr<sim::ViolationId> id = IdOf(violation);
  if (!id.ok()) return id.status();
  Program p(config, *id, stop_when_raised, steps);
  Candidate all(steps.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  return p.Run(all);
}

absl::StatusOr<ShrinkResult> Shrink(const Trace& t, const ShrinkOptions& options) {
  absl::StatusOr<sim::ViolationId> id = IdOf(options.violation);
  if (!id.ok()) return id.status();
  if (options.violation.empty()) return absl::InvalidArgumentError("violation: missing");
  if (absl::StatusOr<sim::LabConfig> c = convert::LabConfigFromProto(t.config); !c.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", c.status().message()));
  }
  Program p(t.config, *id, /*stop=*/true, StepsOf(t));
  return Shrinker(p, options).Go();
}

}  // namespace ppsim::chaos
