// skb operations that merge two skbs: skb_try_coalesce and skb_gro_receive
// (docs/kernel/skb-and-iommu.md §2 table, §2.1 B2, B3, B4).
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/skb.h"
#include "server/sim/skb_internal.h"

namespace ppsim::sim {

using namespace skb_internal;

bool SkbTryCoalesce(Machine& m, SkbId to_id, SkbId from_id, std::optional<SkbId> racing_clone) {
  if (SkbCloned(m, to_id)) return false;
  const bool to_pp = Get(m, to_id).pp_recycle;
  const bool from_pp = Get(m, from_id).pp_recycle;
  const bool from_cloned = SkbCloned(m, from_id);
  const CoalesceRule rule = m.profile.coalesce_rule;
  switch (rule) {
    case CoalesceRule::kAnyMix:
      break;
    case CoalesceRule::kClonedFromNonPpTo:
      if (to_pp != (from_pp && !from_cloned)) return false;
      break;
    case CoalesceRule::kSameNoClonedPp:
      if (to_pp != from_pp || (from_pp && from_cloned)) return false;
      break;
    case CoalesceRule::kSamePpFragRef:
      if (to_pp != from_pp) return false;
      break;
  }
  // The model's skbs have no linear data and no tailroom (nor do the oracle module's), so only
  // an empty `from` takes the kernel's tailroom copy, which merges nothing; past it, a frag_list
  // on either skb refuses, and with headlen(from) 0 no head is stolen: the frags path
  // (net/core/skbuff.c:skb_try_coalesce, v6.12; the frag_list test is there since v3.x).
  const SkbShared& to_sh = Shared(m, Get(m, to_id));
  const SkbShared& from_sh = Shared(m, Get(m, from_id));
  if (Get(m, from_id).len > 0 && (!to_sh.frag_list.empty() || !from_sh.frag_list.empty())) {
    return false;
  }
  if (to_sh.frags.size() + from_sh.frags.size() > MAX_SKB_FRAGS) return false;
  // Another CPU frees the other clone while the descriptors are copied (B3).
  if (racing_clone && m.skbs.contains(*racing_clone)) KfreeSkb(m, *racing_clone);
  // 1effe8ca4e34's code read skb_cloned(from) a second time for the reference decision; the
  // other rules decide once.
  const bool cloned_now =
      rule == CoalesceRule::kClonedFromNonPpTo ? SkbCloned(m, from_id) : from_cloned;
  Skb& from = Get(m, from_id);
  SkbShared& f = Shared(m, from);
  SkbShared& t = Shared(m, Get(m, to_id));
  for (const SkbFrag& fr : f.frags) {
    FragRef ref = fr.ref;  // not cloned: the references move with the descriptors
    if (cloned_now) {
      ref = rule == CoalesceRule::kSamePpFragRef ? PpFragRef(m, from, fr.pfn)
                                                 : (m.GetPage(fr.pfn, m.memory.Touch(fr.pfn)),
                                                    FragRef::kPage);
    }
    t.frags.push_back({fr.pfn, fr.offset, fr.len, ref});
    Attach(m, to_id, fr.pfn);
  }
  if (!cloned_now) f.frags.clear();
  Get(m, to_id).len += from.len;  // from->len stays: the caller frees it (kfree_skb_partial)
  m.digest.Mix(DigestTag::kSkbTryCoalesce, uint64_t{to_id} << 24 | from_id);
  return true;
}

// net/core/gro.c skb_gro_receive (v6.1 .. v7.3 alike for what the model carries): the model's
// skbs have no linear data (headlen 0, the module's too), so the frags path is the
// `headlen <= offset` one: skb's frags move into `lp`, NAPI_GRO_CB(p)->last, when lp has room
// for them (lp's nr_frags, not p's, is what MAX_SKB_FRAGS bounds), and skb is freed
// (NAPI_GRO_FREE: consume_skb, its frags now lp's); otherwise skb is chained after lp on p's
// frag_list and becomes last. p->len grows either way, lp->len too when lp is not p.
bool SkbGroReceive(Machine& m, SkbId p_id, SkbId skb_id) {
  Skb& p = Get(m, p_id);
  Skb& skb = Get(m, skb_id);
  if (!p.gro_p) {  // p enters the GRO list: its own last
    p.gro_p = true;
    p.gro_last = p_id;
  }
  if (m.profile.gro_refuses_pp_mix && p.pp_recycle != skb.pp_recycle) return false;  // -ETOOMANYREFS
  // p->len + skb_gro_len(skb) >= gro_max_size (or GRO_LEGACY_MAX_SIZE for a non-TCP skb):
  // -E2BIG, nothing moves.
  if (uint64_t{p.len} + skb.len >= kGroLegacyMaxSize) return false;
  const uint32_t len = skb.len;
  const SkbId lp_id = m.skbs.contains(p.gro_last) ? p.gro_last : p_id;
  SkbShared& ls = Shared(m, Get(m, lp_id));
  SkbShared& ss = Shared(m, skb);
  if (ls.frags.size() + ss.frags.size() <= MAX_SKB_FRAGS) {
    for (const SkbFrag& fr : ss.frags) {
      ls.frags.push_back(fr);  // moved: no reference changes (NAPI_GRO_FREE)
      Attach(m, lp_id, fr.pfn);
    }
    ss.frags.clear();
    Get(m, p_id).len += len;
    if (lp_id != p_id) Get(m, lp_id).len += len;
    // napi_skb_finish frees it in the receive context with __napi_kfree_skb, which passes
    // napi_safe (b07a2d97ba5e, 6.4–6.9; from 6.10 the pool asks page_pool_napi_local).
    const bool napi_safe = m.skb_free_napi_safe;
    m.skb_free_napi_safe = true;
    KfreeSkb(m, skb_id);
    m.skb_free_napi_safe = napi_safe;
  } else {
    Shared(m, Get(m, p_id)).frag_list.push_back(skb_id);  // chained after NAPI_GRO_CB(p)->last
    Skb& chained = Get(m, skb_id);
    Skb& head = Get(m, p_id);
    chained.on_frag_list = head.shinfo;
    head.len += len;
    head.gro_last = skb_id;
  }
  m.digest.Mix(DigestTag::kSkbGroReceive, uint64_t{p_id} << 24 | skb_id);
  return true;
}

}  // namespace ppsim::sim
