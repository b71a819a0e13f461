// File: client/chaos/chaos_cli.cc
#include "client/chaos/chaos_cli.h"

#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/chaos/generator.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/scenario_loader.h"
#include "server/convert/info_convert.h"
#include "server/sim/violation.h"

namespace ppsim::chaos {

namespace {

std::string YamlQuote(absl::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

bool IsKey(absl::string_view k) {
  if (k.empty()) return false;
  for (char c : k) {
    if (!absl::ascii_islower(c) && c != '_') return false;
  }
  return true;
}

// The flags' chaos block as YAML, loaded with the scenario loader: the same checks, the same
// messages ("--fault:5: chaos.faults[0].site: expected a fault site (...)").
absl::StatusOr<ChaosSpec> ChaosFromFlags(const ChaosCliFlags& f) {
  std::string yaml = "name: flags\nchaos:\n";
  if (f.ops != 0) absl::StrAppend(&yaml, "  ops: ", f.ops, "\n");
  if (!f.duration.empty()) absl::StrAppend(&yaml, "  duration: ", YamlQuote(f.duration), "\n");
  if (f.ops == 0 && f.duration.empty()) absl::StrAppend(&yaml, "  ops: 10000\n");
  if (!f.weights.empty()) {
    absl::StrAppend(&yaml, "  weights:\n");
    for (absl::string_view item : absl::StrSplit(f.weights, ',', absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
      const std::string name(absl::StripAsciiWhitespace(kv.first));
      double w = 0;
      if (!IsChaosKind(name)) {
        return absl::InvalidArgumentError(absl::StrCat("--weights: unknown op kind \"", name,
                                                       "\" (valid: ", ChaosKindList(), ")"));
      }
      if (!absl::SimpleAtod(absl::StripAsciiWhitespace(kv.second), &w) || w < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--weights: ", name, "=", kv.second, ": expected a non-negative number"));
      }
      absl::StrAppend(&yaml, "    ", name, ": ", absl::StrFormat("%.17g", w), "\n");
    }
  }
  if (!f.faults.empty()) absl::StrAppend(&yaml, "  faults:\n");
  for (const std::string& fault : f.faults) {
    std::vector<std::string> fields;
    for (absl::string_view item : absl::StrSplit(fault, ',', absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
      if (!IsKey(kv.first)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--fault ", fault, ": \"", item, "\" is not key=value"));
      }
      fields.push_back(absl::StrCat(kv.first, ": ", YamlQuote(kv.second)));
    }
    absl::StrAppend(&yaml, "    - {", absl::StrJoin(fields, ", "), "}\n");
  }
  absl::StatusOr<Scenario> s = LoadScenarioText(yaml, "--weights/--fault/--ops/--duration");
  if (!s.ok()) return s.status();
  return *s->chaos;
}

Expectation FailOn(const std::vector<std::string>& severities) {
  std::set<std::string> want(severities.begin(), severities.end());
  if (want.empty()) want = {"crash", "corruption"};
  Expectation e;
  for (const sim::CatalogEntry& c : sim::ViolationCatalog()) {
    if (want.count(std::string(sim::SeverityName(c.severity)))) e.forbid.emplace_back(c.code);
  }
  return e;
}

}  // namespace

std::string ChaosKindHelp() {
  std::string out;
  for (const ChaosKind& k : ChaosKinds()) {
    absl::StrAppend(&out, absl::StrFormat("%-16s %5g  %s\n", k.name, k.default_weight, k.emits));
  }
  return out;
}

absl::StatusOr<ChaosPlan> PlanChaos(const ChaosCliFlags& f) {
  for (const std::string& sev : f.fail_on) {
    if (sev != "crash" && sev != "corruption" && sev != "leak" && sev != "warning") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--fail-on: \"", sev, "\" is not a severity (crash, corruption, leak, warning)"));
    }
  }
  if (f.workers < 1) return absl::InvalidArgumentError("--workers: must be at least 1");
  ChaosPlan plan;
  plan.seed = f.seed.value_or(1);
  plan.workers = f.workers;
  plan.shared_lab = f.shared_lab;
  Scenario& s = plan.scenario;
  const bool chaos_flags = f.ops != 0 || !f.duration.empty() || !f.weights.empty() ||
                           !f.faults.empty();
  absl::StatusOr<ChaosSpec> spec = ChaosFromFlags(f);
  if (!spec.ok()) return spec.status();
  if (!f.scenario.empty()) {
    absl::StatusOr<Scenario> loaded = LoadScenarioFile(f.scenario);
    if (!loaded.ok()) return absl::InvalidArgumentError(loaded.status().message());
    s = *std::move(loaded);
    if (!s.chaos) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.scenario, ": --scenario: the scenario has no chaos: block"));
    }
    if (chaos_flags) {
      if (f.ops != 0) s.chaos->ops = f.ops;
      if (!f.duration.empty()) s.chaos->duration_ns = spec->duration_ns;
      if (f.ops != 0 && f.duration.empty()) s.chaos->duration_ns = 0;
      if (!f.weights.empty()) s.chaos->weights = spec->weights;
      for (auto& fault : spec->faults) s.chaos->faults.push_back(fault);
    }
    if (!f.strategies.empty()) s.strategies = f.strategies;
  } else {
    s.name = "chaos";
    s.description = "ppctl chaos";
    s.strategies = f.strategies;
    s.expect["default"] = FailOn(f.fail_on);
    s.chaos = *spec;
    s.chaos->loc = SourceLoc{.file = "chaos", .line = 0};
  }
  if (!f.profile.empty()) s.profile = f.profile;
  s.lab.seed = plan.seed;
  if (!f.liveness.empty()) {
    absl::StatusOr<Scenario> l =
        LoadScenarioText(absl::StrCat("name: l\nsteps: [advance_time]\nliveness: {advance: ",
                                      YamlQuote(f.liveness), "}\n"),
                         "--liveness");
    if (!l.ok()) return l.status();
    s.liveness = l->liveness;
  }
  std::vector<std::string> runs = s.strategies;
  if (runs.empty()) runs.push_back("");
  for (const std::string& st : runs) {
    absl::StatusOr<sim::LabConfig> c = convert::LabConfigFromProto(LabConfigFor(s, st));
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--strategy/--profile ", st, ": ",
                                                     c.status().message()));
    }
  }
  return plan;
}

absl::StatusOr<ChaosOutcome> RunChaos(const ChaosPlan& plan, client::Client* client) {
  const Scenario& s = plan.scenario;
  std::vector<std::string> strategies = s.strategies;
  if (strategies.empty()) strategies.push_back("");
  const int n = plan.workers;
  auto target = [&] { return client ? RemoteTarget(client) : EmbeddedTarget(); };
  // One slot per (worker, strategy), filled by the worker threads.
  std::vector<absl::StatusOr<RunResult>> slots(n * strategies.size(),
                                               absl::UnknownError("not run"));
  std::vector<std::unique_ptr<LabTarget>> shared_targets;
  std::vector<std::unique_ptr<LabSession>> shared_labs, shared_sessions;
  if (plan.shared_lab) {
    for (const std::string& st : strategies) {
      v1::LabConfig config = LabConfigFor(s, st);
      config.set_seed(plan.seed);
      shared_targets.push_back(target());
      absl::StatusOr<std::unique_ptr<LabSession>> lab =
          shared_targets.back()->NewLab(absl::StrCat("chaos shared ", st), config);
      if (!lab.ok()) return lab.status();
      shared_labs.push_back(*std::move(lab));
      shared_sessions.push_back(SharedSession(shared_labs.back().get()));
    }
  }
  auto work = [&](int w) {
    RunOptions o{.seed = plan.seed + static_cast<uint64_t>(w),
                 .record_trace = plan.record_trace,
                 .sample_inflight = plan.sample_inflight};
    if (plan.shared_lab) {
      for (size_t k = 0; k < strategies.size(); ++k) {
        slots[w * strategies.size() + k] = RunOnLab(s, *shared_sessions[k], strategies[k], o);
      }
      return;
    }
    std::unique_ptr<LabTarget> t = target();
    absl::StatusOr<ScenarioResult> r = RunScenario(s, *t, o);
    for (size_t k = 0; k < strategies.size(); ++k) {
      if (!r.ok()) {
        slots[w * strategies.size() + k] = r.status();
      } else {
        slots[w * strategies.size() + k] = std::move(r->runs[k]);
      }
    }
  };
  if (n == 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (int w = 0; w < n; ++w) threads.emplace_back(work, w);
    for (std::thread& t : threads) t.join();
  }
  ChaosOutcome out;
  out.seed = plan.seed;
  out.result = ScenarioResult{.scenario = s.name, .file = s.file, .seed = plan.seed,
                              .target = client ? client->target() : ""};
  for (int w = 0; w < n; ++w) {
    for (size_t k = 0; k < strategies.size(); ++k) {
      absl::StatusOr<RunResult>& r = slots[w * strategies.size() + k];
      if (!r.ok()) return r.status();
      out.result.runs.push_back(*std::move(r));
      std::vector<std::string> tag;
      if (strategies.size() > 1) tag.push_back(strategies[k].empty() ? "default" : strategies[k]);
      if (n > 1) tag.push_back(absl::StrCat("w", w));
      out.tags.push_back(absl::StrJoin(tag, "."));
      v1::LabConfig config = LabConfigFor(s, strategies[k]);
      config.set_seed(plan.shared_lab ? plan.seed : plan.seed + w);
      out.configs.push_back(std::move(config));
    }
  }
  return out;
}

}  // namespace ppsim::chaos
