// skb operations that merge two skbs: skb_try_coalesce and skb_gro_receive
// (kernel/skb-and-iommu.md §2 table, §2.1 B2, B3, B4).
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
  if (Shared(m, Get(m, to_id)).frags.size() + Shared(m, Get(m, from_id)).frags.size() >
      MAX_SKB_FRAGS) {
    return false;
  }
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

bool SkbGroReceive(Machine& m, SkbId p_id, SkbId skb_id) {
  Skb& p = Get(m, p_id);
  Skb& skb = Get(m, skb_id);
  if (m.profile.gro_refuses_pp_mix && p.pp_recycle != skb.pp_recycle) return false;  // -ETOOMANYREFS
  SkbShared& ps = Shared(m, p);
  SkbShared& ss = Shared(m, skb);
  p.len += skb.len;  // p->len += skb_gro_len(skb) on both paths (net/core/gro.c skb_gro_receive)
  if (ps.frags.size() + ss.frags.size() <= MAX_SKB_FRAGS) {
    for (const SkbFrag& fr : ss.frags) {
      ps.frags.push_back(fr);  // moved: no reference changes (NAPI_GRO_FREE)
      Attach(m, p_id, fr.pfn);
    }
    ss.frags.clear();
    KfreeSkb(m, skb_id);
  } else {
    ps.frag_list.push_back(skb_id);  // chained on the frag_list
    skb.on_frag_list = p.shinfo;
  }
  m.digest.Mix(DigestTag::kSkbGroReceive, uint64_t{p_id} << 24 | skb_id);
  return true;
}

}  // namespace ppsim::sim
