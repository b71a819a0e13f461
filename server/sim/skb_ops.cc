// skb operations that reshape one skb: expand, trim, split, shift, segment
// (docs/kernel/skb-and-iommu.md §2 table, §2.1 B1, B5, B7).
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "server/sim/check.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/skb.h"
#include "server/sim/skb_internal.h"

namespace ppsim::sim {

using namespace skb_internal;

void KfreeSkbConcurrent(Machine& m, const std::vector<SkbId>& ids) {
  absl::flat_hash_map<Pfn, PoolId> snapshot;
  for (SkbId id : ids) {
    const SkbShared& sh = Shared(m, Get(m, id));
    for (const SkbFrag& f : sh.frags) snapshot.emplace(f.pfn, PpOwner(m, f.pfn));
    if (sh.head_frag) snapshot.emplace(sh.head_pfn, PpOwner(m, sh.head_pfn));
  }
  m.signature_snapshot = &snapshot;
  for (SkbId id : ids) KfreeSkb(m, id);
  m.signature_snapshot = nullptr;
}

// pskb_expand_head(skb, 0, 0). On a clone: a private shared info whose frags each get
// __skb_frag_ref, the frag_list shared (skb_clone_fraglist: skb_get on each member, which both
// lists now name; net/core/skbuff.c:pskb_expand_head, skb_clone_fraglist, v6.12), then
// skb_release_data on the old data (which clears pp_recycle since 2cc3aeb5eccc: the expanded skb
// holds page refs). Not cloned: the shared info moves to the new head (no reference changes)
// and the old head is freed with skb_free_head.
void PskbExpandHead(Machine& m, SkbId id) {
  Skb& s = Get(m, id);
  SkbShared& old = Shared(m, s);
  if (old.dataref > 1) {
    const uint32_t nid = NewShared(m);
    SkbShared& ns = FindOrDie(m.shinfos, nid, "skb_shared_info");
    SkbShared& o = old;
    for (const SkbFrag& fr : o.frags) {
      ns.frags.push_back({fr.pfn, fr.offset, fr.len, TakeFragRef(m, s, fr.pfn)});
    }
    ns.frag_list = o.frag_list;
    for (SkbId l : ns.frag_list) {
      if (m.skbs.contains(l)) ++Get(m, l).users;  // skb_get
    }
    ReleaseData(m, s);
    s.shinfo = nid;
  } else if (old.head_frag) {
    const Pfn head = old.head_pfn;
    const FragRef ref = old.head_ref;
    old.head_frag = false;
    old.head_ref = FragRef::kNone;
    PageUnref(m, head, ref, s.pp_recycle, "skb_free_head");
  }
  m.digest.Mix(DigestTag::kPskbExpandHead, id);
}

// ___pskb_trim: unclone first, then drop the frags past `keep` with skb_frag_unref, which uses
// the skb's pp_recycle as it is *now* (§2.1 B5).
void PskbTrim(Machine& m, SkbId id, uint32_t keep) {
  if (SkbCloned(m, id)) PskbExpandHead(m, id);
  Skb& s = Get(m, id);
  SkbShared& sh = Shared(m, s);
  while (sh.frags.size() > keep) {
    const SkbFrag fr = sh.frags.back();
    sh.frags.pop_back();
    s.len -= std::min(s.len, fr.len);
    PageUnref(m, fr.pfn, fr.ref, s.pp_recycle, "skb_frag_unref (trim)");
  }
}

// skb_split (tcp_fragment): whole frags move without reference changes; a frag cut in the
// middle gets __skb_frag_ref and appears in both. skb1 is fresh: pp_recycle 0 (§2.1 B7).
SkbId SkbSplit(Machine& m, SkbId id, uint32_t at, uint32_t cut) {
  const SkbId n = NewSkb(m, false);
  Skb& s = Get(m, id);
  SkbShared& sh = Shared(m, s);
  SkbShared& nsh = Shared(m, Get(m, n));
  uint32_t first_moved = at;
  if (cut > 0) {
    SkbFrag& fr = FragAt(m, s, at);
    SkbFrag second{fr.pfn, fr.offset + cut, fr.len - cut, TakeFragRef(m, s, fr.pfn)};
    fr.len = cut;
    nsh.frags.push_back(second);
    Attach(m, n, second.pfn);
    first_moved = at + 1;
  }
  for (uint32_t i = first_moved; i < sh.frags.size(); ++i) {
    nsh.frags.push_back(sh.frags[i]);
    Attach(m, n, sh.frags[i].pfn);
  }
  sh.frags.resize(first_moved);
  // skb_split(skb, skb1, len): skb1 gets skb->len - len, skb keeps len.
  uint32_t moved = 0;
  for (const SkbFrag& fr : nsh.frags) moved += fr.len;
  Get(m, n).len = moved;
  Get(m, id).len -= std::min(Get(m, id).len, moved);
  return n;
}

// skb_shift (TCP SACK collapse, net/core/skbuff.c skb_shift since 832d11c5cd07): both uncloned;
// shiftlen is `count` whole frags of skb plus `partial` bytes of the next. Only skb's first frag
// can merge into tgt's last, when it continues it (skb_can_coalesce): a shift shorter than that
// frag then only moves bytes from one descriptor to the other, with no reference taken or
// dropped; otherwise the frag's whole size joins tgt's and skb's reference is dropped with
// skb->pp_recycle. Every other frag moves whole with its reference, and a frag moved in part
// is cut with a page reference for tgt's part (§2 table, §2.1 B7). Refused (false, nothing
// changed) when tgt has no slot left for what does not merge.
bool SkbShift(Machine& m, SkbId tgt_id, SkbId skb_id, uint32_t count, uint32_t partial) {
  if (SkbCloned(m, tgt_id)) PskbExpandHead(m, tgt_id);
  if (SkbCloned(m, skb_id)) PskbExpandHead(m, skb_id);
  Skb& tgt = Get(m, tgt_id);
  Skb& skb = Get(m, skb_id);
  SkbShared& t = Shared(m, tgt);
  SkbShared& f = Shared(m, skb);
  if (count + (partial > 0 ? 1 : 0) > f.frags.size() || f.frags.empty()) return false;
  uint32_t shiftlen = partial;
  for (uint32_t i = 0; i < count; ++i) shiftlen += f.frags[i].len;
  const bool merge = !t.frags.empty() && t.frags.back().pfn == f.frags[0].pfn &&
                     t.frags.back().offset + t.frags.back().len == f.frags[0].offset;
  if (merge && shiftlen < f.frags[0].len) {  // only bytes move between the two descriptors
    t.frags.back().len += shiftlen;
    f.frags[0].offset += shiftlen;
    f.frags[0].len -= shiftlen;
    tgt.len += shiftlen;
    skb.len -= std::min(skb.len, shiftlen);
    return true;
  }
  // What does not merge: whole frags, then the part of one; each takes a slot of tgt.
  const size_t first = merge ? 1 : 0;
  uint32_t todo = shiftlen - (merge ? f.frags[0].len : 0);
  size_t whole = 0;
  uint32_t cut = 0;
  for (size_t i = first; todo > 0 && i < f.frags.size(); ++i) {
    if (todo < f.frags[i].len) {
      cut = todo;
      break;
    }
    todo -= f.frags[i].len;
    ++whole;
  }
  const size_t merge_at = t.frags.size() - 1;  // when merge: tgt's last frag
  if (whole + (cut > 0 ? 1 : 0) > MAX_SKB_FRAGS - t.frags.size()) return false;
  for (size_t i = first; i < first + whole; ++i) {
    t.frags.push_back(f.frags[i]);
    Attach(m, tgt_id, f.frags[i].pfn);
  }
  if (cut > 0) {
    SkbFrag& fr = f.frags[first + whole];
    // __skb_frag_ref(fragfrom): a page reference; a pp one under a580ea994fd3, which passed
    // skb->pp_recycle (the source's) here.
    const FragRef ref = TakeFragRef(m, skb, fr.pfn);
    t.frags.push_back({fr.pfn, fr.offset, cut, ref});
    Attach(m, tgt_id, fr.pfn);
    fr.offset += cut;
    fr.len -= cut;
  }
  if (merge) {
    const SkbFrag fr = f.frags[0];
    t.frags[merge_at].len += fr.len;
    PageUnref(m, fr.pfn, fr.ref, skb.pp_recycle, "__skb_frag_unref (shift merge)");
  }
  f.frags.erase(f.frags.begin(), f.frags.begin() + static_cast<std::ptrdiff_t>(first + whole));
  tgt.len += shiftlen;
  skb.len -= std::min(skb.len, shiftlen);
  return true;
}

// skb_segment (GSO): each frag slice gets __skb_frag_ref into a fresh segment; each frag_list
// member is cloned and the clone trimmed (pskb_trim → expand → pp_recycle cleared) (§2.1 B5).
// A fresh segment has pp_recycle 0 (__alloc_skb; only __skb_clone copies the bit), so its
// slices take page references in every era: a580ea994fd3 passed nskb->pp_recycle to
// __skb_frag_ref, which is 0 there (net/core/skbuff.c:skb_segment @ a580ea994fd3).
std::vector<SkbId> SkbSegment(Machine& m, SkbId id) {
  std::vector<SkbId> segs;
  const std::vector<SkbFrag> frags = Shared(m, Get(m, id)).frags;
  const std::vector<SkbId> list = Shared(m, Get(m, id)).frag_list;
  for (const SkbFrag& fr : frags) {
    const SkbId n = NewSkb(m, /*pp_recycle=*/false);
    const FragRef ref = TakeFragRef(m, Get(m, n), fr.pfn);
    Shared(m, Get(m, n)).frags.push_back({fr.pfn, fr.offset, fr.len, ref});
    Get(m, n).len = fr.len;
    Attach(m, n, fr.pfn);
    segs.push_back(n);
  }
  for (SkbId l : list) {
    const SkbId n = SkbClone(m, l);
    const uint32_t nfrags = static_cast<uint32_t>(Shared(m, Get(m, n)).frags.size());
    PskbTrim(m, n, nfrags > 0 ? nfrags - 1 : 0);
    segs.push_back(n);
  }
  return segs;
}

}  // namespace ppsim::sim
