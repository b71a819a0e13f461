// File: client/chaos/chaos_cli.h
// What `ppctl chaos` and `ppctl soak` share: turning their flags into a chaos scenario (with
// the same validation, and file:line:field errors, as a scenario file), and running it once
// per strategy on one or more workers.
#ifndef PPSIM_CLIENT_CHAOS_CHAOS_CLI_H_
#define PPSIM_CLIENT_CHAOS_CHAOS_CLI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario.h"
#include "client/lib/client.h"

namespace ppsim::chaos {

struct ChaosCliFlags {
  std::string target;  // "" = embedded
  double connect_timeout_s = 5;
  client::Client::Options connection;  // TLS and token for --target
  std::optional<uint64_t> seed;
  uint64_t ops = 0;          // 0 = not given
  std::string duration;      // virtual, "" = not given
  std::vector<std::string> strategies;
  std::string profile;
  std::string weights;       // alloc=5,free=3
  std::vector<std::string> faults;  // site=fail_dma_map,probability=0.01
  std::string scenario;
  std::string liveness;      // "" = no liveness phase (unless the scenario has one)
  std::vector<std::string> fail_on;  // severities; empty = crash, corruption
  int workers = 1;
  bool shared_lab = false;
  bool list_kinds = false;
};

struct ChaosPlan {
  Scenario scenario;
  uint64_t seed = 0;
  int workers = 1;
  bool shared_lab = false;
  bool record_trace = false;
  bool sample_inflight = false;
};

// INVALID_ARGUMENT naming the flag (or file:line:field of --scenario) and the value.
absl::StatusOr<ChaosPlan> PlanChaos(const ChaosCliFlags& flags);

struct ChaosOutcome {
  ScenarioResult result;   // every run: worker-major, then strategy
  uint64_t seed = 0;
  std::vector<std::string> tags;         // per run: "<strategy>", "w<i>" or both, for files
  std::vector<v1::LabConfig> configs;    // per run: what its lab was created with
};

// `client` null = embedded. Errors as RunScenario's.
absl::StatusOr<ChaosOutcome> RunChaos(const ChaosPlan& plan, client::Client* client);

// The op kinds and what each emits, one per line (ppctl chaos --help-kinds).
std::string ChaosKindHelp();

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_CHAOS_CLI_H_
