// File: client/chaos/scenario_writer.cc
#include "client/chaos/scenario_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/sim/lab_config.h"

namespace ppsim::chaos {

namespace {

std::string IdList(const std::vector<std::string>& ids) {
  return absl::StrCat("[", absl::StrJoin(ids, ", "), "]");
}

std::string QuotedList(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const std::string& s : v) q.push_back(YamlQuote(s));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

void WriteLab(const LabSpec& lab, std::string* out) {
  absl::StrAppend(out, "lab:\n");
  if (lab.ram_bytes) absl::StrAppend(out, "  ram: ", *lab.ram_bytes, "\n");
  if (lab.iommu_model) absl::StrAppend(out, "  iommu: ", YamlQuote(*lab.iommu_model), "\n");
  if (lab.strict) absl::StrAppend(out, "  strict: ", *lab.strict ? "true" : "false", "\n");
  if (lab.cpus) absl::StrAppend(out, "  cpus: ", *lab.cpus, "\n");
  if (lab.numa_nodes) absl::StrAppend(out, "  numa_nodes: ", *lab.numa_nodes, "\n");
  if (lab.scan_ns_per_pfn) {
    std::string rate = absl::StrCat(*lab.scan_ns_per_pfn);
    for (const sim::ScanRatePreset& p : sim::ScanRatePresets()) {
      if (p.ns_per_pfn == *lab.scan_ns_per_pfn) rate = std::string(p.name);
    }
    absl::StrAppend(out, "  scan_rate: ", YamlQuote(rate), "\n");
  }
  absl::StrAppend(out, "  seed: ", lab.seed, "\n");
  if (!lab.profile_switches.empty()) {
    absl::StrAppend(out, "  profile_switches:\n");
    for (const auto& [name, value] : lab.profile_switches) {
      absl::StrAppend(out, "    ", YamlQuote(name), ": ", YamlQuote(value), "\n");
    }
  }
  if (!lab.default_strategy.empty()) {
    absl::StrAppend(out, "  default_strategy: ", YamlQuote(lab.default_strategy), "\n");
  }
}

void WriteExpect(const std::map<std::string, Expectation>& expect, std::string* out) {
  absl::StrAppend(out, "expect:\n");
  for (const auto& [key, e] : expect) {
    std::vector<std::string> parts;
    if (!e.occur.empty()) parts.push_back(absl::StrCat("occur: ", IdList(e.occur)));
    if (e.none) {
      parts.push_back("none: true");
    } else if (!e.forbid.empty()) {
      parts.push_back(absl::StrCat("none: ", IdList(e.forbid)));
    }
    absl::StrAppend(out, "  ", YamlQuote(key), ": {", absl::StrJoin(parts, ", "), "}\n");
  }
}

void WriteChaos(const ChaosSpec& c, std::string* out) {
  absl::StrAppend(out, "chaos:\n");
  if (!c.weights.empty()) {
    absl::StrAppend(out, "  weights:\n");
    for (const auto& [kind, w] : c.weights) {
      absl::StrAppend(out, "    ", kind, ": ", absl::StrFormat("%.17g", w), "\n");
    }
  }
  if (c.ops != 0) absl::StrAppend(out, "  ops: ", c.ops, "\n");
  if (c.duration_ns != 0) absl::StrAppend(out, "  duration: ", c.duration_ns, "\n");
  if (!c.faults.empty()) {
    absl::StrAppend(out, "  faults:\n");
    for (const auto& fault : c.faults) {
      std::vector<std::string> kv;
      for (const auto& [k, v] : fault) kv.push_back(absl::StrCat(k, ": ", YamlQuote(v)));
      absl::StrAppend(out, "    - {", absl::StrJoin(kv, ", "), "}\n");
    }
  }
}

}  // namespace

std::string YamlQuote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, absl::StrFormat("\\x%02x", static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string ScenarioToYaml(const Scenario& s, const std::vector<std::string>& comment) {
  std::string out;
  for (const std::string& line : comment) absl::StrAppend(&out, "# ", line, "\n");
  absl::StrAppend(&out, "name: ", YamlQuote(s.name), "\n");
  if (!s.description.empty()) absl::StrAppend(&out, "description: ", YamlQuote(s.description), "\n");
  if (!s.profile.empty()) absl::StrAppend(&out, "profile: ", YamlQuote(s.profile), "\n");
  WriteLab(s.lab, &out);
  if (!s.strategies.empty()) absl::StrAppend(&out, "strategies: ", QuotedList(s.strategies), "\n");
  if (!s.expect.empty()) WriteExpect(s.expect, &out);
  if (!s.steps.empty() || !s.chaos) {
    absl::StrAppend(&out, "steps:\n");
    for (const Step& step : s.steps) {
      if (step.as.empty() && step.repeat == 1) {
        absl::StrAppend(&out, "  - ", YamlQuote(step.op_line), "\n");
        continue;
      }
      absl::StrAppend(&out, "  - op: ", YamlQuote(step.op_line), "\n");
      if (step.repeat != 1) absl::StrAppend(&out, "    repeat: ", step.repeat, "\n");
      if (!step.as.empty()) absl::StrAppend(&out, "    as: ", step.as, "\n");
    }
  }
  if (s.chaos) WriteChaos(*s.chaos, &out);
  if (s.liveness) absl::StrAppend(&out, "liveness: {advance: ", s.liveness->advance_ns, "}\n");
  if (!s.sometimes.empty()) absl::StrAppend(&out, "sometimes: ", QuotedList(s.sometimes), "\n");
  return out;
}

Scenario ShrunkScenario(const Trace& t, const std::vector<ShrinkStep>& steps,
                        const std::string& violation, const std::string& source) {
  Scenario s;
  const std::string base = t.scenario.empty() ? "trace" : t.scenario;
  s.name = absl::StrCat("shrunk-", base, "-", violation);
  s.description = absl::StrCat(
      "ppctl shrink of ", source.empty() ? "a trace" : source, " (scenario ", base,
      ", strategy ", t.strategy.empty() ? "default" : t.strategy, ", seed ", t.seed, "): ",
      steps.size(), " of ", t.ops.size(), " ops still raise ", violation,
      ". Passes while the model raises ", violation, " (expect occur), fails once it does not.");
  const v1::LabConfig& c = t.config;
  if (c.has_profile()) s.profile = c.profile();
  if (c.has_ram_bytes()) s.lab.ram_bytes = c.ram_bytes();
  if (c.has_iommu_model()) s.lab.iommu_model = c.iommu_model();
  if (c.has_iommu_strict()) s.lab.strict = c.iommu_strict();
  if (c.has_cpus()) s.lab.cpus = c.cpus();
  if (c.has_numa_nodes()) s.lab.numa_nodes = c.numa_nodes();
  if (c.has_scan_ns_per_pfn()) s.lab.scan_ns_per_pfn = c.scan_ns_per_pfn();
  s.lab.seed = c.has_seed() ? c.seed() : t.seed;
  for (const v1::ProfileSwitch& sw : c.profile_switches()) {
    s.lab.profile_switches.emplace_back(sw.name(), sw.value());
  }
  // The run's strategy is the lab's default (runner.h: LabConfigFor sets it per run).
  const std::string strategy = !t.strategy.empty()        ? t.strategy
                               : c.has_default_strategy() ? c.default_strategy()
                                                          : "";
  if (!strategy.empty()) s.strategies.push_back(strategy);
  s.expect[strategy.empty() ? "default" : strategy].occur.push_back(violation);
  for (const ShrinkStep& step : steps) s.steps.push_back({.op_line = step.line, .as = step.as});
  return s;
}

}  // namespace ppsim::chaos
