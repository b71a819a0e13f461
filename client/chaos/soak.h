// File: client/chaos/soak.h
// A wall-clock-bounded soak (docs/design.md §6, §8 the Kubernetes Job): N workers each run chaos
// rounds of `round_ops` ops, every round on a fresh lab with a seed derived from the soak's
// seed, the worker and the round (RoundSeed), until the deadline or a stop request. Any round
// reruns alone with `ppctl chaos --seed <round seed> --ops <round_ops>` (same strategy and
// scenario flags). The soak's verdict is the worst round's.
#ifndef PPSIM_CLIENT_CHAOS_SOAK_H_
#define PPSIM_CLIENT_CHAOS_SOAK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/chaos/chaos_cli.h"
#include "client/chaos/runner.h"

namespace ppsim::chaos {

inline constexpr char kSoakSchema[] = "ppsim.soak/v1";

// splitmix64 over (seed, worker, round): stable across builds and platforms.
uint64_t RoundSeed(uint64_t seed, int worker, uint64_t round);

struct SoakRound {
  int worker = 0;
  uint64_t round = 0;
  uint64_t seed = 0;
  RunResult run;  // trace and samples are not kept
};

// What the progress line shows; read while the soak runs.
struct SoakProgress {
  std::atomic<uint64_t> rounds{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<int64_t> inflight{0};  // the last finished round's peak sampled inflight
};

struct SoakOptions {
  ChaosPlan plan;              // scenario (with its chaos block), seed, workers
  client::Client* client = nullptr;  // null = embedded
  absl::Duration duration;
  uint64_t round_ops = 2000;
  std::atomic<bool>* stop = nullptr;  // set to end after the current rounds
  // Called (from worker threads, serialised) after every round.
  std::function<void(const SoakRound&)> on_round;
};

struct SoakResult {
  uint64_t seed = 0;
  std::string target;
  std::string strategies;       // comma-separated
  int workers = 0;
  uint64_t round_ops = 0;
  double elapsed_s = 0;
  uint64_t rounds = 0;
  uint64_t ops = 0;
  uint64_t rejected_ops = 0;
  std::map<std::string, uint64_t> violations;  // by id, over every round
  std::vector<SoakRound> failed;                // rounds whose verdict is not pass
  std::vector<uint64_t> rounds_per_worker;
  Verdict verdict = Verdict::kPass;
  bool stopped = false;                         // ended by a stop request
};

absl::StatusOr<SoakResult> RunSoak(const SoakOptions& options, SoakProgress* progress);

// The exit code (exit_codes.h) of the worst round: safety, then liveness, then unknown.
int SoakExitCode(const SoakResult& r);
// `ppctl chaos` command that reruns one round.
std::string RoundCommand(const SoakOptions& o, const SoakRound& r);

std::string SoakJson(const SoakResult& r, const SoakOptions& o);   // ppsim.soak/v1
std::string SoakJunit(const SoakResult& r, const SoakOptions& o);  // one testcase per worker

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_SOAK_H_
