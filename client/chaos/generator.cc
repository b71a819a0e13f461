// File: client/chaos/generator.cc
#include "client/chaos/generator.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/chaos/chaos_world.h"

namespace ppsim::chaos {

const std::vector<ChaosKind>& ChaosKinds() {
  // In Kind order (chaos_world.h). Default weights: mostly the RX fast path and the stack,
  // now and then a teardown (and a rebind so the run keeps going after it).
  static const std::vector<ChaosKind> kKinds = {
      {"alloc", "page_pool_alloc_pages (NAPI context of the pool)", 20},
      // Was 0 while safe strategies raised PP009/PP016 with fragment pages in flight: the
      // generator released skb_frag_ref's get_page with napi_pp_put_page (chaos_world.cc,
      // Observe, kFragRef), which steals a fragment's pp_ref_count. The model was right.
      {"alloc_frag", "page_pool_alloc_frag", 5},
      {"recycle", "page_pool_put_page by the driver, direct from its NAPI or not", 8},
      {"build_skb", "skb_build from driver pages, pp_recycle set", 14},
      {"clone", "skb_clone", 4},
      {"expand_head", "pskb_expand_head", 2},
      // 0 by default: on pp skbs they reach the latent B7 (docs/kernel/skb-and-iommu.md §2.1; the
      // fresh skb1 gets pp_recycle 0 over pp references), whatever the teardown strategy;
      // the kernel only splits and shifts TCP's TX queues. Weight them to explore B7.
      {"split", "skb_split (whole frags or a cut)", 0},
      {"shift", "skb_shift", 0},
      {"trim", "pskb_trim", 2},
      {"segment", "skb_segment", 1},
      {"coalesce", "skb_try_coalesce (+ kfree_skb of `from` when merged)", 2},
      {"gro", "skb_gro_receive", 2},
      {"frag_ref", "skb_frag_ref, or the release of such a reference", 2},
      {"pull_page", "skb_pull_page, or put_page of such a reference", 2},
      {"hold", "stack_hold (socket, defrag, defer_free, qdisc, retransmit)", 6},
      {"release", "stack_release", 4},
      {"free", "kfree_skb", 7},
      {"consume", "napi_consume_skb", 5},
      {"defer_free", "skb_attempt_defer_free", 3},
      {"net_rx", "net_rx_action (flushes the CPU's defer list)", 3},
      {"advance_time", "advance_time 50us..3s", 3},
      {"device_dma", "device_dma into a buffer the driver posted", 4},
      {"gup", "gup_fast_begin, later gup_fast_try_get + gup_fast_end", 1},
      {"unbind", "unbind_driver (the driver first frees its rings and own pools)", 0.3},
      {"remove", "remove_device", 0.2},
      {"surprise_remove", "surprise_remove", 0.1},
      {"rebind", "add_device / bind_driver with the run's strategy", 0.6},
      {"destroy", "page_pool_destroy of a driver's extra pool", 0.2},
      {"create", "page_pool_create of a driver's extra pool (no NAPI)", 0.2},
      {"napi_poll", "napi_complete_done of a polled RX queue's NAPI, or napi_schedule again", 2},
  };
  return kKinds;
}

bool IsChaosKind(absl::string_view name) {
  for (const ChaosKind& k : ChaosKinds()) {
    if (k.name == name) return true;
  }
  return false;
}

std::string ChaosKindList() {
  std::vector<std::string> names;
  for (const ChaosKind& k : ChaosKinds()) names.emplace_back(k.name);
  return absl::StrJoin(names, ", ");
}

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
