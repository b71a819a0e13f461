// File: client/chaos/generator.cc
#include "client/chaos/generator.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "client/chaos/chaos_world.h"

namespace ppsim::chaos {

absl::Status ValidateWeights(const ChaosSpec& spec) {
  bool any = spec.weights.empty();
  for (const auto& [name, w] : spec.weights) {
    if (!IsChaosKind(name)) {
      return absl::InvalidArgumentError(absl::StrCat("weights.", name, ": unknown op kind \"",
                                                     name, "\" (valid: ", ChaosKindList(), ")"));
    }
    if (!std::isfinite(w) || w < 0 || w > 1e9) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights.", name, ": ", w, " must be a number in 0..1e9"));
    }
    any = any || w > 0;
  }
  if (!any) return absl::InvalidArgumentError("weights: every weight is 0");
  return absl::OkStatus();
}

ChaosGenerator::ChaosGenerator(const ChaosSpec& spec, uint64_t seed, std::string strategy)
    : ChaosGenerator(spec, seed, std::move(strategy), GeneratorOptions{}) {}

ChaosGenerator::ChaosGenerator(const ChaosSpec& spec, uint64_t seed, std::string strategy,
                               const GeneratorOptions& options)
    : world_(std::make_unique<ChaosWorld>(spec, seed, options)),
      strategy_(std::move(strategy)),
      ops_limit_(spec.ops),
      duration_ns_(spec.duration_ns),
      drain_(options.drain) {
  // Neither bound given: a default-sized run rather than an endless one.
  if (ops_limit_ == 0 && duration_ns_ == 0) ops_limit_ = 10000;
}

ChaosGenerator::~ChaosGenerator() = default;

bool ChaosGenerator::LimitReached() const {
  if (exhausted_) return true;
  if (ops_limit_ != 0 && world_->chaos_steps() >= ops_limit_) return true;
  return duration_ns_ != 0 && last_now_ns_ >= duration_ns_;
}

std::vector<Step> ChaosGenerator::Next(size_t max) {
  if (world_->setup_done() && LimitReached() && world_->queue_empty()) {
    if (!drain_ || drained_) return {};
    world_->Drain();
    drained_ = true;
  }
  uint64_t budget = std::numeric_limits<uint64_t>::max();
  if (ops_limit_ != 0) {
    budget = ops_limit_ > world_->chaos_steps() ? ops_limit_ - world_->chaos_steps() : 0;
  }
  if (duration_ns_ != 0 && last_now_ns_ >= duration_ns_) budget = 0;
  std::vector<Step> out = world_->Next(max, budget);
  if (out.empty() && world_->setup_done() && !drained_) {
    exhausted_ = true;
    if (drain_) {
      world_->Drain();
      drained_ = true;
      out = world_->Next(max, 0);
    }
  }
  generated_ = world_->chaos_steps();
  return out;
}

void ChaosGenerator::Observe(const Step& step, const v1::OpResult& result) {
  world_->Observe(step, result);
}

bool ChaosGenerator::Done(int64_t now_ns) const {
  last_now_ns_ = now_ns;
  return world_->setup_done() && LimitReached() && world_->queue_empty() &&
         (!drain_ || drained_);
}

}  // namespace ppsim::chaos
