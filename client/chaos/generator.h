// File: client/chaos/generator.h
// The seeded chaos generator (docs/design.md §6 `chaos:`):
// valid random op sequences from op-kind weights, as scenario Steps (op_line.h text with
// $NAME references, bindings.h) so that a trace of them replays and shrinks like any scenario.
//
//   ChaosGenerator gen(spec, seed, "dma-tracking");
//   while (!gen.Done(now_ns_since_chaos_start)) {
//     std::vector<Step> batch = gen.Next(64);       // only uses results already observed
//     if (batch.empty()) break;                      // nothing left the weights allow
//     for (const Step& s : batch) gen.Observe(s, Apply(s));  // in order, every step
//   }
//
// The generator keeps its own model of the world (chaos_world.h): devices and their binding
// state, pools, pages the driver owns, live skbs (frag shapes, pp_recycle, clone groups),
// extra page references held outside the stack, GUP readers. Every op it emits references
// live objects only: an op that consumes an object (kfree_skb, stack_hold, a driver put)
// removes it from the model when the op is generated; objects an op creates enter the model
// when Observe() sees its result. Hence a batch never depends on its own results, and the
// same seed gives the same steps as long as the results are the same (the batch size is part
// of the determinism: the runner always uses kChaosBatch).
//
// Determinism: one xoshiro-style PRNG (splitmix64-seeded), bounded draws by multiply-shift,
// integer weights (milli-units). No std distributions (implementation-defined).
//
// What the generator never does, because the kernel forbids it (so any violation a run
// raises is the model's verdict on a legal sequence): it touches an skb after freeing it or
// while a stack holder owns it; it recycles with allow_direct outside the pool's NAPI context;
// it drops a reference as another kind than it took (the get_page of skb_frag_ref or
// skb_pull_page goes back with put_page, never napi_pp_put_page: docs/kernel/skb-and-iommu.md §0);
// it lets the device DMA into a buffer the driver no longer owns; it uses a pool after
// destroying it; a driver returns its own pages before it unbinds/removes/destroys (real
// drivers free their RX rings in remove). With a `surprise_remove` fault armed, devices can
// vanish behind its back, so it then emits no op whose validity depends on a device's state
// (unbind, remove, device_dma) and rebinds only fresh devices.
#ifndef PPSIM_CLIENT_CHAOS_GENERATOR_H_
#define PPSIM_CLIENT_CHAOS_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "client/chaos/scenario.h"
#include "ppsim/v1/ops.pb.h"

namespace ppsim::chaos {

// Steps per Next() call of the runner (embedded and remote alike: see the header comment).
inline constexpr size_t kChaosBatch = 64;

// The op kinds `chaos.weights` names, with what each emits, in the generator's table's order
// (chaos_kinds.cc: one row per kind).
struct ChaosKind {
  absl::string_view name;
  absl::string_view emits;
  double default_weight;
};
const std::vector<ChaosKind>& ChaosKinds();
bool IsChaosKind(absl::string_view name);
// "alloc, alloc_frag, ..." for error messages.
std::string ChaosKindList();

// INVALID_ARGUMENT naming the weight for an unknown kind, a negative or non-finite weight, or
// weights that are all zero.
absl::Status ValidateWeights(const ChaosSpec& spec);

// Knobs of the lab the generator needs to know (the runner fills them from the LabConfig).
struct GeneratorOptions {
  uint32_t cpus = 4;     // LabConfig.cpus (default 4)
  size_t devices = 2;    // devices kept bound (rebind tops up to this)
  // After the last chaos step, heal (ChaosWorld::Drain: clear faults, free and return
  // everything the generator holds) so that a liveness phase judges the strategy.
  bool drain = true;
};

class ChaosWorld;  // chaos_world.h

class ChaosGenerator {
 public:
  // `strategy` is the run's teardown strategy ("" = the lab's default); the lab's default
  // strategy is already set to it by the runner, so bind_driver does not name it (a
  // strategy the profile cannot host would otherwise be a rejected op).
  ChaosGenerator(const ChaosSpec& spec, uint64_t seed, std::string strategy);
  ChaosGenerator(const ChaosSpec& spec, uint64_t seed, std::string strategy,
                 const GeneratorOptions& options);
  ~ChaosGenerator();
  ChaosGenerator(const ChaosGenerator&) = delete;
  ChaosGenerator& operator=(const ChaosGenerator&) = delete;

  // Up to `max` steps (at least one unless Done or nothing is possible). The first calls
  // return the setup: set_fault per spec fault, add_device, bind_driver.
  std::vector<Step> Next(size_t max);
  // The result of a step Next returned, in order. A rejected step: an empty result.
  void Observe(const Step& step, const v1::OpResult& result);
  // `now_ns`: virtual time since the chaos phase began. True when spec.ops steps were
  // generated (setup not counted) or spec.duration_ns has passed.
  bool Done(int64_t now_ns) const;

  uint64_t generated() const { return generated_; }  // chaos steps so far (setup excluded)
  const std::string& strategy() const { return strategy_; }

 private:
  bool LimitReached() const;

  std::unique_ptr<ChaosWorld> world_;
  std::string strategy_;
  uint64_t ops_limit_;
  int64_t duration_ns_;
  bool drain_;
  bool drained_ = false;
  bool exhausted_ = false;  // nothing the weights allow was possible any more
  mutable int64_t last_now_ns_ = 0;
  uint64_t generated_ = 0;
};

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_GENERATOR_H_
