// sk_buffs carrying pool pages (docs/design.md §3.8, docs/kernel/skb-and-iommu.md §0–§2).
//
// An skb points at a shared info (skb_shared_info plus the head buffer) that clones share
// through `dataref`. Every frag slot and the head remember which reference they hold: a pp
// reference (pp_ref_count) or an ordinary page reference (_refcount). The kernel does not keep
// that bit — it decides how to drop a reference from skb->pp_recycle and the page signature at
// free time — and every bug in §2.1 is a path where the two disagree. The model drops references
// the kernel's way and records a mismatch in the page's history, so the violation that follows
// (a leak, an underflow, an early unmap) explains itself.
#ifndef PPSIM_SERVER_SIM_SKB_H_
#define PPSIM_SERVER_SIM_SKB_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;

using SkbId = uint32_t;
inline constexpr uint32_t MAX_SKB_FRAGS = 17;

// Which reference a slot holds.
enum class FragRef : uint8_t { kPp = 0, kPage = 1, kNone = 2 };
const char* FragRefName(FragRef r);

struct SkbFrag {
  Pfn pfn = 0;
  uint32_t offset = 0;
  uint32_t len = 0;
  FragRef ref = FragRef::kPage;
};

struct SkbShared {
  uint32_t id = 0;
  uint32_t dataref = 1;
  std::vector<SkbFrag> frags;
  std::vector<SkbId> frag_list;
  bool head_frag = false;  // the head is a page fragment (possibly a pool page)
  Pfn head_pfn = 0;
  FragRef head_ref = FragRef::kNone;
};

struct Skb {
  SkbId id = 0;
  uint32_t shinfo = 0;
  bool pp_recycle = false;
  uint16_t alloc_cpu = 0;
  uint32_t holder = 0;  // stack holder keeping it, 0 = none
  // skb->users. 1 for every skb but a frag_list member that pskb_expand_head shared between the
  // old and the new data of a clone (skb_clone_fraglist takes skb_get on each member, it does
  // not clone them): each list naming it holds one, and the last list released frees it.
  uint32_t users = 1;
  // A shared info whose frag_list chains it (skb_gro_receive's overflow path), 0 = none; when
  // pskb_expand_head shared it between two lists (users > 1), one of them. A chained skb
  // belongs to its lists' heads: it is released with the last of them and no op may name it on
  // its own.
  uint32_t on_frag_list = 0;
  // skb->len. The model's skbs carry no linear data, so it is the bytes of their frags and of
  // their frag_list, kept the kernel's way: an op that empties an skb of its frags does not
  // always shorten it (skb_try_coalesce leaves from->len as it was, net/core/skbuff.c
  // skb_try_coalesce, for the caller's kfree_skb_partial). Observed by the kernel oracle.
  uint32_t len = 0;
  // NAPI_GRO_CB(skb) as skb_gro_receive reads it when this skb is the held packet `p`: set the
  // first time it is (dev_gro_receive puts it on the GRO list as its own last, count 1), not
  // copied by skb_clone here (the module's clone is a fresh GRO candidate). gro_last is
  // NAPI_GRO_CB(p)->last: p itself, or the last skb chained on its frag_list, whose frags
  // take the next merge (net/core/gro.c skb_gro_receive, `lp`).
  bool gro_p = false;
  SkbId gro_last = 0;
};

// GRO_LEGACY_MAX_SIZE (include/linux/netdevice.h), every netdev's default gro_max_size and
// gro_ipv4_max_size: skb_gro_receive refuses (-E2BIG) a merge that would reach it.
inline constexpr uint32_t kGroLegacyMaxSize = 65536;

// A frag as a builder gives it: the page handle's reference moves into the skb.
struct FragSpec {
  Pfn pfn = 0;
  uint32_t offset = 0;
  uint32_t len = 0;
};

// The skb operations. Callers (the op handlers) have validated ids and shapes.
SkbId SkbBuild(Machine& m, const std::vector<FragSpec>& frags, std::optional<Pfn> head_page,
               bool mark_for_recycle);
SkbId SkbClone(Machine& m, SkbId id);
// skb_cloned(): the skb shares its data with a clone.
bool SkbCloned(const Machine& m, SkbId id);
// skb_shinfo(): the skb's shared info (its frags, dataref, frag_list).
const SkbShared& SkbShinfo(const Machine& m, SkbId id);
// kfree_skb / consume_skb / napi_consume_skb.
void KfreeSkb(Machine& m, SkbId id);
// Several CPUs free these skbs at the same tick: every "is this a pp page" test (and page->pp
// read) happens before any release, as in the interleavings of §2.1 B1. Freed in order.
void KfreeSkbConcurrent(Machine& m, const std::vector<SkbId>& ids);
// pskb_expand_head(skb, 0, 0): a private head; on a clone, page refs on every frag and skb_get
// on every frag_list member.
void PskbExpandHead(Machine& m, SkbId id);
// pskb_trim to `keep` frags: unclone first, then drop the rest with skb_frag_unref.
void PskbTrim(Machine& m, SkbId id, uint32_t keep);
// skb_split at frag `at`: frags from `at` on move to a fresh skb; with cut > 0 frag `at` is
// cut `cut` bytes in and appears in both (the second half with a page ref). Returns skb1.
SkbId SkbSplit(Machine& m, SkbId id, uint32_t at, uint32_t cut);
// skb_shift(tgt, skb): move `count` whole frags; with partial > 0 the next frag is shifted
// partially (a page ref into tgt). Returns false if tgt has no room.
bool SkbShift(Machine& m, SkbId tgt, SkbId skb, uint32_t count, uint32_t partial);
// skb_try_coalesce(to, from) under the profile's rule; refused when either has a frag_list.
// `racing_clone`, when set, is a clone of `from` freed by another CPU while the coalesce runs
// (B3). Returns whether it merged.
bool SkbTryCoalesce(Machine& m, SkbId to, SkbId from, std::optional<SkbId> racing_clone);
// skb_gro_receive(p, skb): frags move into NAPI_GRO_CB(p)->last (or skb joins p's frag_list
// and becomes last). False = refused (pp_recycle mix under the profile, or -E2BIG).
bool SkbGroReceive(Machine& m, SkbId p, SkbId skb);
// skb_segment: one segment per frag (a fresh skb, pp_recycle 0, a page ref each) and, per
// frag_list member, a clone trimmed by one frag.
std::vector<SkbId> SkbSegment(Machine& m, SkbId id);
// __skb_frag_ref on frag i (a second holder of the page inside the stack). Returns the kind of
// reference taken: a page reference (get_page) on every released kernel, a pp reference on pp
// pages of a pp skb under frag_ref_takes_pp_ref (a580ea994fd3). The holder must drop the same
// kind: put_page for a page reference, napi_pp_put_page for a pp reference.
FragRef SkbFragRef(Machine& m, SkbId id, uint32_t i);
// A subsystem takes its own page reference on frag i (splice, zerocopy, storage). Returns the
// reference the subsystem now holds.
PageHandle SkbPullPage(Machine& m, SkbId id, uint32_t i);
// IPsec ESP output releasing the original frag pages itself (B6).
void EspReleaseFrags(Machine& m, SkbId id);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_SKB_H_
