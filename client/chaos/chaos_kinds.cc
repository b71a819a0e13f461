// File: client/chaos/chaos_kinds.cc
// The chaos op kinds, one row each: the name `chaos.weights` uses, what it emits, its default
// weight, when the generator's world allows it, and its emitter (chaos_world.cc). Adding a
// kind is adding a row here, its emitter and, if its result matters, an observer; `ppctl
// chaos --help-kinds`, the loader's checks and the scenario schema's list follow from this
// table (chaos_kinds_test checks the schema).
//
// Row order is draw order (ChaosWorld::Next walks the weights in it), so it is part of what a
// seed means: a new kind goes at the end, or every recorded chaos run changes.
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "client/chaos/chaos_world.h"
#include "client/chaos/generator.h"

namespace ppsim::chaos {

const std::vector<ChaosWorld::KindRow>& ChaosWorld::Kinds() {
  using W = ChaosWorld;
  // Default weights: mostly the RX fast path and the stack, now and then a teardown (and a
  // rebind so the run keeps going after it).
  static const std::vector<KindRow> kKinds = {
      {{"alloc", "page_pool_alloc_pages (NAPI context of the pool)", 20},
       [](const W& w) { return !w.PoolIds(false, true, false).empty(); },
       [](W& w) { w.EmitAlloc(/*frag=*/false); }},
      // Was 0 while safe strategies raised PP009/PP016 with fragment pages in flight: the
      // generator released skb_frag_ref's get_page with napi_pp_put_page (ObserveFragRef),
      // which steals a fragment's pp_ref_count. The model was right.
      {{"alloc_frag", "page_pool_alloc_frag", 5},
       [](const W& w) { return !w.PoolIds(false, true, false).empty(); },
       [](W& w) { w.EmitAlloc(/*frag=*/true); }},
      {{"recycle", "page_pool_put_page by the driver, direct from its NAPI or not", 8},
       [](const W& w) { return !w.PoolIds(true, false, false).empty(); },
       [](W& w) { w.EmitRecycle(); }},
      {{"build_skb", "skb_build from driver pages, pp_recycle set", 14},
       [](const W& w) { return w.SkbRoom() && !w.PoolIds(true, false, false).empty(); },
       [](W& w) { w.EmitBuild(); }},
      {{"clone", "skb_clone", 4},
       [](const W& w) { return w.SkbRoom() && !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitClone(); }},
      {{"expand_head", "pskb_expand_head", 2},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitExpand(); }},
      // 0 by default: on pp skbs they reach the latent B7 (docs/kernel/skb-and-iommu.md §2.1; the
      // fresh skb1 gets pp_recycle 0 over pp references), whatever the teardown strategy;
      // the kernel only splits and shifts TCP's TX queues. Weight them to explore B7.
      {{"split", "skb_split (whole frags or a cut)", 0},
       [](const W& w) { return w.SkbRoom() && !w.SkbIds(SkbNeed::kSplit).empty(); },
       [](W& w) { w.EmitSplit(); }},
      {{"shift", "skb_shift", 0},
       [](const W& w) { return w.SkbIds(SkbNeed::kAny).size() >= 2; },
       [](W& w) { w.EmitShift(); }},
      {{"trim", "pskb_trim", 2},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitTrim(); }},
      {{"segment", "skb_segment", 1},
       [](const W& w) { return w.SkbRoom() && !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitSegment(); }},
      {{"coalesce", "skb_try_coalesce (+ kfree_skb of `from` when merged)", 2},
       [](const W& w) { return w.SkbIds(SkbNeed::kAny).size() >= 2; },
       [](W& w) { w.EmitCoalesce(); }},
      {{"gro", "skb_gro_receive", 2},
       [](const W& w) { return w.SkbIds(SkbNeed::kUncloned).size() >= 2; },
       [](W& w) { w.EmitGro(); }},
      {{"frag_ref", "skb_frag_ref, or the release of such a reference", 2},
       [](const W& w) {
         return !w.FreeExtras().empty() || (w.ExtraRoom() && !w.SkbIds(SkbNeed::kFrags).empty());
       },
       [](W& w) { w.EmitFragRef(/*pull=*/false); }},
      {{"pull_page", "skb_pull_page, or put_page of such a reference", 2},
       [](const W& w) {
         return !w.FreeExtras().empty() || (w.ExtraRoom() && !w.SkbIds(SkbNeed::kFrags).empty());
       },
       [](W& w) { w.EmitFragRef(/*pull=*/true); }},
      {{"hold", "stack_hold (socket, defrag, defer_free, qdisc, retransmit)", 6},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitHold(); }},
      {{"release", "stack_release", 4},
       [](const W& w) { return w.AnyHeld(); },
       [](W& w) { w.EmitRelease(); }},
      {{"free", "kfree_skb", 7},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitFree(FreeVia::kKfreeSkb); }},
      {{"consume", "napi_consume_skb", 5},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitFree(FreeVia::kNapiConsumeSkb); }},
      {{"defer_free", "skb_attempt_defer_free", 3},
       [](const W& w) { return !w.SkbIds(SkbNeed::kAny).empty(); },
       [](W& w) { w.EmitFree(FreeVia::kDeferFree); }},
      {{"net_rx", "net_rx_action (flushes the CPU's defer list)", 3},
       [](const W&) { return true; },
       [](W& w) { w.EmitNetRx(); }},
      {{"advance_time", "advance_time 50us..3s", 3},
       [](const W&) { return true; },
       [](W& w) { w.EmitAdvance(); }},
      {{"device_dma", "device_dma into a buffer the driver posted", 4},
       [](const W& w) { return w.Certain() && !w.PoolIds(true, false, false).empty(); },
       [](W& w) { w.EmitDeviceDma(); }},
      {{"gup", "gup_fast_begin, later gup_fast_try_get + gup_fast_end", 1},
       [](const W& w) {
         return !w.readers_.empty() || (w.ReaderRoom() && !w.FreeExtras().empty());
       },
       [](W& w) { w.EmitGup(); }},
      // The teardowns: a device's state is unknown once a surprise_remove fault may have
      // removed it behind the generator's back (Certain()).
      {{"unbind", "unbind_driver (the driver first frees its rings and own pools)", 0.3},
       [](const W& w) { return w.Certain() && !w.TeardownCandidates(/*unbind=*/true).empty(); },
       [](W& w) { w.EmitTeardown("unbind_driver"); }},
      {{"remove", "remove_device", 0.2},
       [](const W& w) { return w.Certain() && !w.TeardownCandidates(/*unbind=*/false).empty(); },
       [](W& w) { w.EmitTeardown("remove_device"); }},
      {{"surprise_remove", "surprise_remove", 0.1},
       [](const W& w) { return w.Certain() && !w.TeardownCandidates(/*unbind=*/false).empty(); },
       [](W& w) { w.EmitTeardown("surprise_remove"); }},
      {{"rebind", "add_device / bind_driver with the run's strategy", 0.6},
       [](const W& w) { return w.CanRebind(); },
       [](W& w) { w.EmitRebind(); }},
      {{"destroy", "page_pool_destroy of a driver's extra pool", 0.2},
       [](const W& w) { return w.Certain() && !w.DestroyCandidates().empty(); },
       [](W& w) { w.EmitDestroy(); }},
      {{"create", "page_pool_create of a driver's extra pool (no NAPI)", 0.2},
       [](const W& w) { return w.Certain() && !w.CreateCandidates().empty(); },
       [](W& w) { w.EmitCreate(); }},
      {{"napi_poll", "napi_complete_done of a polled RX queue's NAPI, or napi_schedule again", 2},
       [](const W& w) { return !w.PoolIds(false, false, true).empty(); },
       [](W& w) { w.EmitNapiPoll(); }},
  };
  return kKinds;
}

const std::vector<ChaosKind>& ChaosKinds() {
  static const std::vector<ChaosKind> kKinds = [] {
    std::vector<ChaosKind> out;
    for (const ChaosWorld::KindRow& row : ChaosWorld::Kinds()) out.push_back(row.kind);
    return out;
  }();
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

}  // namespace ppsim::chaos
