#include "client/oracle/generate_skb.h"

#include <algorithm>

namespace ppsim::oracle {

int SkbShadow::NewSkb(bool pp, int len) {
  datas_.push_back({});
  skbs_.push_back({.data = static_cast<int>(datas_.size()) - 1, .pp = pp, .len = len});
  return count();
}

int SkbShadow::Build(const std::vector<ShadowFrag>& frags, int head, bool pp) {
  int len = 0;
  for (const ShadowFrag& f : frags) len += f.len;  // skb_add_rx_frag: len += size
  const int s = NewSkb(pp, len);
  Mut(s).excess = len;
  MutData(s).frags = frags;
  MutData(s).head = head;
  return s;
}

// skb_clone: a new sk_buff on the same data (dataref + 1), pp_recycle and len copied.
int SkbShadow::Clone(int s) {
  skbs_.push_back(skb(s));
  ShadowSkb& c = skbs_.back();
  c.state = ShadowState::kLive;
  c.gro_p = false;
  c.gro_last = 0;
  ++datas_[c.data].dataref;
  return count();
}

// pskb_expand_head(skb, 0, 0): a new (slab) head. Cloned: the frags are copied with a page
// reference each and skb_release_data drops the old area's dataref, clearing pp_recycle
// (2cc3aeb5eccc); not cloned: the old head is freed (skb_free_head), the frags stay.
void SkbShadow::ExpandHead(int s) {
  if (Cloned(s)) {
    ShadowData fresh{.frags = data(s).frags};
    --MutData(s).dataref;
    datas_.push_back(std::move(fresh));
    Mut(s).data = static_cast<int>(datas_.size()) - 1;
    Mut(s).pp = false;
    return;
  }
  MutData(s).head = 0;
}

// skb_split(skb, skb1, len) with headlen 0: skb_split_no_header. skb1 is the module's
// alloc_skb(0), not marked for recycle; a frag that straddles len is cut, with a page
// reference for skb1's part.
int SkbShadow::Split(int s, int at, int cut) {
  int len = cut;
  for (int i = 0; i < at; ++i) len += data(s).frags[i].len;
  const int n = NewSkb(false, skb(s).len - len);
  Mut(s).len = len;
  std::vector<ShadowFrag>& frags = MutData(s).frags;
  std::vector<ShadowFrag>& moved = MutData(n).frags;
  for (size_t i = at; i < frags.size(); ++i) moved.push_back(frags[i]);
  frags.resize(at);
  if (cut > 0) {
    frags.push_back({moved[0].page, moved[0].off, cut});
    moved[0].off += cut;
    moved[0].len -= cut;
  }
  return n;
}

// skb_shift (net/core/skbuff.c): skb's first frag merges into tgt's last when it continues it
// (skb_can_coalesce; a shift shorter than that frag only moves bytes), whole frags move, a
// frag moved in part is cut (a page reference for tgt's part). Refused, with nothing changed,
// when tgt runs out of slots.
int SkbShadow::Shift(int tgt, int s, int count, int partial) {
  std::vector<ShadowFrag>& t = MutData(tgt).frags;
  std::vector<ShadowFrag>& f = MutData(s).frags;
  int shiftlen = partial;
  for (int i = 0; i < count; ++i) shiftlen += f[i].len;
  int todo = shiftlen;
  size_t from = 0;
  int merge = -1;
  if (!t.empty() && t.back().page == f[0].page && t.back().off + t.back().len == f[0].off) {
    merge = static_cast<int>(t.size()) - 1;
    todo -= f[0].len;
    if (todo < 0) {  // only merged
      t.back().len += shiftlen;
      f[0].len -= shiftlen;
      f[0].off += shiftlen;
      Mut(s).len -= shiftlen;
      Mut(tgt).len += shiftlen;
      return shiftlen;
    }
    from = 1;
  }
  const int free_slots = kShadowMaxSkbFrags - static_cast<int>(t.size());
  if (shiftlen == skb(s).len && static_cast<int>(f.size() - from) > free_slots) return 0;
  std::vector<ShadowFrag> add;
  while (todo > 0 && from < f.size()) {
    if (static_cast<int>(add.size()) == free_slots) return 0;
    if (todo >= f[from].len) {
      add.push_back(f[from]);
      todo -= f[from].len;
      ++from;
    } else {
      add.push_back({f[from].page, f[from].off, todo});
      f[from].off += todo;
      f[from].len -= todo;
      todo = 0;
      break;
    }
  }
  if (merge >= 0) t[merge].len += f[0].len;  // skb's reference on it is dropped
  t.insert(t.end(), add.begin(), add.end());
  f.erase(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(from));
  Mut(s).len -= shiftlen;
  Mut(tgt).len += shiftlen;
  return shiftlen;
}

// skb_try_coalesce (6.12): not into a cloned skb, not across pp_recycle, a `from` that fits
// the tailroom (none here: only an empty one) is copied, no frag_list, at most MAX_SKB_FRAGS;
// the frags move (cloned `from`: referenced), to->len grows by from->len, from->len stays.
bool SkbShadow::Coalesce(int to, int from) {
  if (Cloned(to) || skb(to).pp != skb(from).pp) return false;
  if (skb(from).len == 0) return true;
  if (!data(to).frag_list.empty() || !data(from).frag_list.empty()) return false;
  if (data(to).frags.size() + data(from).frags.size() > kShadowMaxSkbFrags) return false;
  const std::vector<ShadowFrag> frags = data(from).frags;
  MutData(to).frags.insert(MutData(to).frags.end(), frags.begin(), frags.end());
  if (!Cloned(from)) MutData(from).frags.clear();
  Mut(to).len += skb(from).len;
  Mut(to).excess += skb(from).excess;  // to->truesize += delta
  return true;
}

// skb_gro_receive (net/core/gro.c) as the module calls it, then napi_skb_finish: the frags go
// to NAPI_GRO_CB(p)->last (p, or the last skb chained on it) and skb is freed; when they do
// not fit, skb is chained on p's frag_list and becomes last.
GroResult SkbShadow::Gro(int p, int s) {
  if (!skb(p).gro_p) {  // the module sets p's control block the first time
    Mut(p).gro_p = true;
    Mut(p).gro_last = p;
  }
  if (skb(p).pp != skb(s).pp) return GroResult::kRefusedMix;  // -ETOOMANYREFS
  const int len = skb(s).len;
  if (skb(p).len + len >= kShadowGroMaxSize) return GroResult::kRefusedSize;  // -E2BIG
  const int lp = skb(p).gro_last;
  Mut(p).len += len;
  if (data(lp).frags.size() + data(s).frags.size() > kShadowMaxSkbFrags) {
    MutData(p).frag_list.push_back(s);
    Mut(p).excess += kShadowGroMaxSize;  // p->truesize += skb->truesize: all of it
    Mut(s).state = ShadowState::kChained;
    Mut(p).gro_last = s;
    return GroResult::kChained;
  }
  Mut(p).excess += skb(s).excess;  // delta_truesize: the frags' part of skb's truesize
  if (lp != p) {
    Mut(lp).len += len;
    Mut(lp).excess += skb(s).excess;
  }
  const std::vector<ShadowFrag> frags = data(s).frags;
  MutData(lp).frags.insert(MutData(lp).frags.end(), frags.begin(), frags.end());
  MutData(s).frags.clear();
  Free(s);
  return GroResult::kMerged;
}

// skb_segment with gso_size the frags' size: a fresh skb per frag with a page reference on it,
// not marked for recycle.
std::vector<int> SkbShadow::Segment(int s) {
  std::vector<int> out;
  const std::vector<ShadowFrag> frags = data(s).frags;
  for (const ShadowFrag& f : frags) {
    const int n = NewSkb(false, f.len);
    Mut(n).excess = f.len;  // nskb->truesize += nskb->data_len
    MutData(n).frags.push_back(f);
    out.push_back(n);
  }
  return out;
}

void SkbShadow::DropData(int d) {
  if (--datas_[d].dataref > 0) return;
  const std::vector<int> list = std::move(datas_[d].frag_list);
  datas_[d] = ShadowData{.dataref = 0};
  for (int c : list) {
    Mut(c).state = ShadowState::kFreed;
    DropData(skb(c).data);
  }
}

void SkbShadow::Free(int s) {
  Mut(s).state = ShadowState::kFreed;
  DropData(skb(s).data);
}

void SkbShadow::Hold(int s) {
  Mut(s).state = ShadowState::kHeld;
  holder_.push_back(s);
}

std::vector<int> SkbShadow::Release(int n) {
  std::vector<int> out;
  while (!holder_.empty() && (n == 0 || static_cast<int>(out.size()) < n)) {
    out.push_back(holder_.front());
    holder_.pop_front();
    Free(out.back());
  }
  return out;
}

int SkbShadow::LiveCount() const {
  return static_cast<int>(std::count_if(skbs_.begin(), skbs_.end(), [](const ShadowSkb& s) {
    return s.state != ShadowState::kFreed;
  }));
}

std::vector<int> SkbShadow::Pages(int s) const {
  std::vector<int> out;
  const ShadowData& d = data(s);
  if (d.head != 0) out.push_back(d.head);
  for (const ShadowFrag& f : d.frags) out.push_back(f.page);
  for (int c : d.frag_list) {
    for (int p : Pages(c)) out.push_back(p);
  }
  return out;
}

int SkbShadow::PageCount() const {
  int n = 0;
  for (const ShadowData& d : datas_) {
    if (d.dataref > 0) n += static_cast<int>(d.frags.size()) + (d.head != 0 ? 1 : 0);
  }
  return n;
}

}  // namespace ppsim::oracle
