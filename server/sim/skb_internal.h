// Helpers shared by skb.cc, skb_ops.cc and skb_merge.cc. Not part of the model's interface.
#ifndef PPSIM_SERVER_SIM_SKB_INTERNAL_H_
#define PPSIM_SERVER_SIM_SKB_INTERNAL_H_

#include "server/sim/skb.h"

namespace ppsim::sim {
class Machine;
}

namespace ppsim::sim::skb_internal {

Skb& Get(Machine& m, SkbId id);
SkbShared& Shared(Machine& m, const Skb& s);
// Frag `i` of `s`, which the op handler checked exists.
SkbFrag& FragAt(Machine& m, const Skb& s, uint32_t i);
uint32_t NewShared(Machine& m);
SkbId NewSkb(Machine& m, bool pp_recycle);
// The page's pool if it carries the signature (as the current concurrent free saw it), else 0.
PoolId PpOwner(Machine& m, Pfn pfn);
bool IsPp(Machine& m, Pfn pfn);
void Attach(Machine& m, SkbId id, Pfn pfn);
FragRef TakeFragRef(Machine& m, const Skb& s, Pfn pfn);
FragRef PpFragRef(Machine& m, const Skb& s, Pfn pfn);
void PageUnref(Machine& m, Pfn pfn, FragRef held, bool recycle, const char* who);
void ReleaseData(Machine& m, Skb& s);
// A shared info whose frag_list names skb `id`, 0 if none.
uint32_t ListHolding(const Machine& m, SkbId id);

}  // namespace ppsim::sim::skb_internal

#endif  // PPSIM_SERVER_SIM_SKB_INTERNAL_H_
