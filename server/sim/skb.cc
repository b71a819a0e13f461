// skb life: build, clone, the reference drops of skb_release_data, and the helpers the other
// skb operations (skb_ops.cc, skb_merge.cc) share. docs/kernel/skb-and-iommu.md §1–§2.
#include "server/sim/skb.h"

#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/skb_internal.h"

namespace ppsim::sim {

const char* FragRefName(FragRef r) {
  switch (r) {
    case FragRef::kPp: return "pp reference";
    case FragRef::kPage: return "page reference";
    case FragRef::kNone: return "no reference";
  }
  return "?";
}

namespace skb_internal {

Skb& Get(Machine& m, SkbId id) { return FindOrDie(m.skbs, id, "skb"); }
SkbShared& Shared(Machine& m, const Skb& s) {
  return FindOrDie(m.shinfos, s.shinfo, "skb_shared_info");
}
SkbFrag& FragAt(Machine& m, const Skb& s, uint32_t i) {
  std::vector<SkbFrag>& frags = Shared(m, s).frags;
  PPSIM_CHECK(i < frags.size(), "frag ", i, " of skb ", s.id, ", which has ", frags.size());
  return frags[i];
}

uint32_t NewShared(Machine& m) {
  const uint32_t id = m.next_shinfo_id++;
  m.shinfos[id].id = id;
  return id;
}

SkbId NewSkb(Machine& m, bool pp_recycle) {
  const SkbId id = m.next_skb_id++;
  Skb& s = m.skbs[id];
  s.id = id;
  s.shinfo = NewShared(m);
  s.pp_recycle = pp_recycle;
  s.alloc_cpu = m.ctx.cpu;
  m.digest.Mix(DigestTag::kSkbAlloc, id);
  return id;
}

PoolId PpOwner(Machine& m, Pfn pfn) {
  if (m.signature_snapshot != nullptr) {
    if (auto it = m.signature_snapshot->find(pfn); it != m.signature_snapshot->end()) {
      return it->second;
    }
  }
  const Frame* f = m.memory.Peek(pfn);
  return f != nullptr && !f->is_free() && m.IsPpPage(*f) ? f->pool : 0;
}

bool IsPp(Machine& m, Pfn pfn) { return PpOwner(m, pfn) != 0; }

void Attach(Machine& m, SkbId id, Pfn pfn) {
  m.RecordPage(pfn, m.memory.Touch(pfn), PageEventKind::kSkbAttach, id);
}

// __skb_frag_ref: get_page; a pp reference under a580ea994fd3's rule.
FragRef TakeFragRef(Machine& m, const Skb& s, Pfn pfn) {
  Frame& f = m.memory.Touch(pfn);
  if (m.profile.frag_ref_takes_pp_ref && s.pp_recycle && m.IsPpPage(f)) {
    if (PagePool* pool = m.FindPool(f.pool)) {
      pool->RefPage(m, pfn);
      return FragRef::kPp;
    }
  }
  m.GetPage(pfn, f);
  return FragRef::kPage;
}

// skb_pp_frag_ref (f7dc3248dcfb): pp refs on pp pages of a pp skb, page refs otherwise.
FragRef PpFragRef(Machine& m, const Skb& s, Pfn pfn) {
  Frame& f = m.memory.Touch(pfn);
  if (s.pp_recycle && m.IsPpPage(f)) {
    if (PagePool* pool = m.FindPool(f.pool)) {
      pool->RefPage(m, pfn);
      return FragRef::kPp;
    }
  }
  m.GetPage(pfn, f);
  return FragRef::kPage;
}

// skb_page_unref(page, recycle) (§1.1 step 3): napi_pp_put_page when recycling and the page
// carries the signature, else put_page. A slot whose reference kind differs from the one
// dropped is recorded: that is the precursor of every bug in §2.1.
void PageUnref(Machine& m, Pfn pfn, FragRef held, bool recycle, const char* who) {
  Frame& f = m.memory.Touch(pfn);
  if (f.is_free()) {
    m.Violate(ViolationId::kPP010,
              absl::StrFormat("%s drops a reference on pfn 0x%x, which is already free in the "
                              "page allocator", who, pfn),
              {.pfn = pfn});
    return;
  }
  const PoolId owner = recycle ? PpOwner(m, pfn) : 0;
  const bool pp_path = owner != 0;
  const FragRef dropped = pp_path ? FragRef::kPp : FragRef::kPage;
  if (held != dropped) {
    m.RecordPage(pfn, f, PageEventKind::kRefMismatch,
                 static_cast<uint64_t>(held) << 4 | static_cast<uint64_t>(dropped));
  }
  if (!pp_path) {
    m.PutPage(pfn, f);
    return;
  }
  // page->pp as read at the signature test (it may have been cleared since, §2.1 B1).
  PagePool* pool = m.FindPool(owner);
  if (pool->state() == PoolState::kFreed) {
    m.Violate(ViolationId::kPP015,
              absl::StrFormat("%s returns pfn 0x%x into pool %d, which was already freed", who,
                              pfn, pool->id()),
              {.pfn = pfn, .pool = pool->id()});
    return;
  }
  pool->PutPage(m, pfn, -1, pool->SkbMayRecycleDirect(m));
}

uint32_t ListHolding(const Machine& m, SkbId id) {
  for (const auto& [sid, sh] : m.shinfos) {
    for (SkbId member : sh.frag_list) {
      if (member == id) return sid;
    }
  }
  return 0;
}

// skb_release_data (§1.1 step 2, §1.3): drop one dataref; the last one releases frags,
// frag_list and head with skb->pp_recycle. Since 2cc3aeb5eccc pp_recycle is cleared on every
// exit, so only the last clone recycles.
void ReleaseData(Machine& m, Skb& s) {
  SkbShared& sh = Shared(m, s);
  if (--sh.dataref > 0) {
    if (m.profile.release_data_clears_pp_recycle) s.pp_recycle = false;
    return;
  }
  const std::vector<SkbFrag> frags = std::move(sh.frags);
  const std::vector<SkbId> list = std::move(sh.frag_list);
  const bool head_frag = sh.head_frag;
  const Pfn head = sh.head_pfn;
  const FragRef head_ref = sh.head_ref;
  m.shinfos.erase(s.shinfo);
  for (const SkbFrag& fr : frags) PageUnref(m, fr.pfn, fr.ref, s.pp_recycle, "skb_release_data");
  for (SkbId l : list) {
    if (!m.skbs.contains(l)) continue;
    Skb& member = Get(m, l);
    if (member.users > 1) {  // skb_unref: another list still holds it (pskb_expand_head)
      --member.users;
      if (member.on_frag_list == s.shinfo) member.on_frag_list = ListHolding(m, l);
      continue;
    }
    KfreeSkb(m, l);
  }
  if (head_frag) PageUnref(m, head, head_ref, s.pp_recycle, "skb_free_head");
  if (m.profile.release_data_clears_pp_recycle) s.pp_recycle = false;
}

}  // namespace skb_internal

using namespace skb_internal;

SkbId SkbBuild(Machine& m, const std::vector<FragSpec>& frags, std::optional<Pfn> head_page,
               bool mark_for_recycle) {
  const SkbId id = NewSkb(m, mark_for_recycle);
  SkbShared& sh = Shared(m, Get(m, id));
  for (const FragSpec& fs : frags) {
    sh.frags.push_back({fs.pfn, fs.offset, fs.len, IsPp(m, fs.pfn) ? FragRef::kPp : FragRef::kPage});
    Get(m, id).len += fs.len;  // skb_add_rx_frag
    Attach(m, id, fs.pfn);
  }
  if (head_page) {
    sh.head_frag = true;
    sh.head_pfn = *head_page;
    sh.head_ref = IsPp(m, *head_page) ? FragRef::kPp : FragRef::kPage;
    Attach(m, id, *head_page);
  }
  return id;
}

SkbId SkbClone(Machine& m, SkbId id) {
  const SkbId c = m.next_skb_id++;
  Skb& src = Get(m, id);
  Skb& s = m.skbs[c];
  s.id = c;
  s.shinfo = src.shinfo;
  s.pp_recycle = src.pp_recycle;  // copied (§2: skb_clone)
  s.len = src.len;
  s.alloc_cpu = m.ctx.cpu;
  ++Shared(m, src).dataref;
  m.digest.Mix(DigestTag::kSkbClone, uint64_t{id} << 24 | c);
  return c;
}

bool SkbCloned(const Machine& m, SkbId id) { return SkbShinfo(m, id).dataref > 1; }

const SkbShared& SkbShinfo(const Machine& m, SkbId id) {
  return FindOrDie(m.shinfos, FindOrDie(m.skbs, id, "skb").shinfo, "skb_shared_info");
}

void KfreeSkb(Machine& m, SkbId id) {
  ReleaseData(m, Get(m, id));
  m.skbs.erase(id);
  // Remember who freed it, for the error a later use gets (bounded: skbs are plentiful).
  m.recent_skb_frees.emplace_back(id, m.op_index);
  if (m.recent_skb_frees.size() > Machine::kRecentSkbFrees) m.recent_skb_frees.pop_front();
  m.digest.Mix(DigestTag::kKfreeSkb, id);
}

FragRef SkbFragRef(Machine& m, SkbId id, uint32_t i) {
  Skb& s = Get(m, id);
  const Pfn pfn = FragAt(m, s, i).pfn;
  return TakeFragRef(m, s, pfn);
}

PageHandle SkbPullPage(Machine& m, SkbId id, uint32_t i) {
  Skb& s = Get(m, id);
  const Pfn pfn = FragAt(m, s, i).pfn;
  Frame& f = m.memory.Touch(pfn);
  m.GetPage(pfn, f);
  return PageHandle{pfn, f.generation};
}

void EspReleaseFrags(Machine& m, SkbId id) {
  Skb& s = Get(m, id);
  SkbShared& sh = Shared(m, s);
  const std::vector<SkbFrag> frags = std::move(sh.frags);
  sh.frags.clear();
  for (const SkbFrag& fr : frags) {
    if (m.profile.esp_releases_with_put_page) {
      Frame& f = m.memory.Touch(fr.pfn);
      if (fr.ref != FragRef::kPage) {
        m.RecordPage(fr.pfn, f, PageEventKind::kRefMismatch,
                     static_cast<uint64_t>(fr.ref) << 4 | static_cast<uint64_t>(FragRef::kPage));
      }
      m.PutPage(fr.pfn, f);  // esp_output_done before c3198822c6cb
    } else {
      PageUnref(m, fr.pfn, fr.ref, s.pp_recycle, "esp skb_page_unref");
    }
  }
}

}  // namespace ppsim::sim
