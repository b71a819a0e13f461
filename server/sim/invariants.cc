#include "server/sim/invariants.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {
namespace {

absl::Status Broken(absl::string_view what) {
  return absl::InternalError(absl::StrCat("ppsim invariant broken: ", what));
}

absl::Status CheckSkbs(const Machine& m) {
  std::map<uint32_t, uint32_t> users;  // shinfo -> skbs pointing at it
  std::map<SkbId, uint32_t> listings;  // chained skb -> frag_lists naming it
  for (const auto& [id, s] : m.skbs) {
    if (s.id != id) return Broken(absl::StrCat("skb ", id, " is stored as skb ", s.id));
    if (id == 0 || id >= m.next_skb_id) return Broken(absl::StrCat("skb id ", id, " never issued"));
    if (!m.shinfos.contains(s.shinfo)) {
      return Broken(absl::StrCat("skb ", id, " points at shared info ", s.shinfo,
                                 ", which does not exist"));
    }
    ++users[s.shinfo];
    if (s.holder != 0) {
      bool found = false;
      for (const auto& [key, h] : m.holders) {
        if (h.id != s.holder) continue;
        for (SkbId held : h.skbs) found |= held == id;
      }
      if (!found) {
        return Broken(absl::StrCat("skb ", id, " says stack holder ", s.holder,
                                   " keeps it, but that holder does not"));
      }
    }
    if (s.on_frag_list != 0) {
      auto sh = m.shinfos.find(s.on_frag_list);
      bool found = false;
      if (sh != m.shinfos.end()) {
        for (SkbId member : sh->second.frag_list) found |= member == id;
      }
      if (!found) {
        return Broken(absl::StrCat("skb ", id, " says it is on the frag_list of shared info ",
                                   s.on_frag_list, ", which does not list it"));
      }
    }
  }
  for (const auto& [sid, sh] : m.shinfos) {
    if (sh.id != sid) return Broken(absl::StrCat("shared info ", sid, " stored as ", sh.id));
    const uint32_t n = users.contains(sid) ? users[sid] : 0;
    if (sh.dataref != n) {
      return Broken(absl::StrCat("shared info ", sid, " has dataref ", sh.dataref, " but ", n,
                                 " skbs point at it"));
    }
    if (sh.frags.size() > MAX_SKB_FRAGS) {
      return Broken(absl::StrCat("shared info ", sid, " holds ", sh.frags.size(),
                                 " frags, more than MAX_SKB_FRAGS"));
    }
    for (size_t i = 0; i < sh.frags.size(); ++i) {
      if (!m.memory.Valid(sh.frags[i].pfn)) {
        return Broken(absl::StrCat("shared info ", sid, " frag ", i, " points at pfn ",
                                   sh.frags[i].pfn, ", beyond the lab's ", m.memory.num_pages(),
                                   " pages"));
      }
    }
    if (sh.head_frag && !m.memory.Valid(sh.head_pfn)) {
      return Broken(absl::StrCat("shared info ", sid, " head points at pfn ", sh.head_pfn,
                                 ", beyond the lab's memory"));
    }
    for (SkbId member : sh.frag_list) {
      auto it = m.skbs.find(member);
      if (it == m.skbs.end()) continue;  // freed with an earlier clone's release (tolerated)
      if (it->second.on_frag_list == 0) {
        return Broken(absl::StrCat("shared info ", sid, " lists skb ", member,
                                   " on its frag_list, but the skb says it is on none"));
      }
      ++listings[member];
    }
  }
  // Each frag_list naming a chained skb holds one of its users (pskb_expand_head's skb_get).
  for (const auto& [id, s] : m.skbs) {
    const uint32_t lists = listings.contains(id) ? listings[id] : 0;
    if (s.on_frag_list != 0 ? s.users != lists : s.users != 1) {
      return Broken(absl::StrCat("skb ", id, " has ", s.users, " users but ", lists,
                                 " frag_lists name it"));
    }
  }
  for (const auto& [key, h] : m.holders) {
    for (SkbId held : h.skbs) {
      auto it = m.skbs.find(held);
      if (it != m.skbs.end() && it->second.holder != h.id) {
        return Broken(absl::StrCat("stack holder ", h.id, " keeps skb ", held,
                                   ", which says its holder is ", it->second.holder));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckInvariants(const Machine& m) {
  if (std::string e = m.memory.CheckFreeLists(); !e.empty()) return Broken(e);
  if (absl::Status s = CheckSkbs(m); !s.ok()) return s;
  for (const auto& [id, pool] : m.pools) {
    if (pool->id() != id) return Broken(absl::StrCat("pool ", id, " stored as ", pool->id()));
    if (absl::Status s = pool->CheckInvariants(m); !s.ok()) return s;
  }
  for (const auto& [id, r] : m.readers) {
    if (!m.memory.Valid(r.pfn)) {
      return Broken(absl::StrCat("reader ", id, " reads pfn ", r.pfn, ", beyond the lab's memory"));
    }
  }
  return absl::OkStatus();
}

}  // namespace ppsim::sim
