// File: client/chaos/scenario.h
// A scenario as loaded from YAML or JSON (docs/design.md §6; the format's JSON Schema is
// client/scenarios/scenario.schema.json). Plain data: scenario_loader.h builds and validates
// it, runner.h executes it. Every part remembers the line it came from so that a failure found
// while running can still point into the file.
//
//   name: unbind-inflight
//   profile: v6.15
//   lab: {iommu: intel, seed: 7}
//   strategies: [legacy, dma-tracking]
//   expect:
//     legacy: {occur: [PP001, PP005]}
//     default: {none: true}
//   steps:
//     - op: add_device
//       as: dev
//     - bind_driver device=$dev flags=1
//     ...
#ifndef PPSIM_CLIENT_CHAOS_SCENARIO_H_
#define PPSIM_CLIENT_CHAOS_SCENARIO_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ppsim::chaos {

// Where something was written: file and 1-based line (0 = not from a file).
struct SourceLoc {
  std::string file;
  int line = 0;
};

// `lab:`. Unset fields keep the model's defaults (server/sim/lab_config.h).
struct LabSpec {
  std::optional<uint64_t> ram_bytes;
  std::optional<std::string> iommu_model;  // intel | ppc-ddw | passthrough
  std::optional<bool> strict;
  std::optional<uint32_t> cpus;
  std::optional<uint32_t> numa_nodes;
  // CostModel::scan_ns_per_pfn: `scan_rate:` a preset name (x86, arm64) or ns per pfn.
  std::optional<double> scan_ns_per_pfn;
  uint64_t seed = 1;
  std::vector<std::pair<std::string, std::string>> profile_switches;  // in file order
  std::string default_strategy;  // "" = the profile's
};

// One entry of `expect:` (per strategy, or `default`).
struct Expectation {
  std::vector<std::string> occur;   // ids that must be raised at least once
  bool none = false;                // nothing else may be raised
  std::vector<std::string> forbid;  // ids that must not be raised (the list form of `none`)
  SourceLoc loc;
};

// One entry of `steps:`. `op_line` is op_line.h's syntax and may hold $NAME references
// (bindings.h) that are resolved just before the op is applied.
struct Step {
  std::string op_line;
  uint32_t repeat = 1;
  std::string as;  // "" = the result is not bound
  SourceLoc loc;
};

// `chaos:` is accepted and validated but not executed yet: the seeded generator reads it.
struct ChaosSpec {
  std::map<std::string, double> weights;  // op name -> relative weight
  uint64_t ops = 0;                       // 0 = bounded by duration_ns only
  int64_t duration_ns = 0;                // virtual time; 0 = bounded by ops only
  std::vector<std::map<std::string, std::string>> faults;  // set_fault fields, by name
  SourceLoc loc;
};

// `liveness:`: after the steps, advance virtual time, then every pool must have drained
// (the liveness_check op raises PP017 for each one that has not).
struct LivenessSpec {
  int64_t advance_ns = 0;
  SourceLoc loc;
};

struct Scenario {
  std::string name;
  std::string description;
  std::string profile;  // "" = the model's default profile
  LabSpec lab;
  std::vector<std::string> strategies;  // one run each; empty = one run on the lab default
  std::map<std::string, Expectation> expect;  // key: a strategy or "default"
  std::vector<Step> steps;
  std::optional<ChaosSpec> chaos;
  std::optional<LivenessSpec> liveness;
  std::vector<std::string> sometimes;  // stored for the chaos generator; not checked yet
  std::string file;                    // where it was loaded from

  // The expectation for a run under `strategy`: its own entry, else `default`, else nullptr.
  const Expectation* ExpectFor(const std::string& strategy) const {
    if (auto it = expect.find(strategy); it != expect.end()) return &it->second;
    if (auto it = expect.find("default"); it != expect.end()) return &it->second;
    return nullptr;
  }
};

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_SCENARIO_H_
