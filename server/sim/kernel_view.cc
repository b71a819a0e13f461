#include "server/sim/kernel_view.h"

#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

const Frame* KernelView::page(Pfn pfn) const { return m_.memory.Peek(pfn); }

uint32_t KernelView::page_to_nid(Pfn pfn) const { return m_.memory.NodeOf(pfn); }

bool KernelView::page_is_pp(const Frame& f) const { return m_.IsPpPage(f); }

const PagePool* KernelView::page_pool(PoolId id) const {
  auto it = m_.pools.find(id);
  return it == m_.pools.end() ? nullptr : it->second.get();
}

const Skb* KernelView::skb(SkbId id) const {
  auto it = m_.skbs.find(id);
  return it == m_.skbs.end() ? nullptr : &it->second;
}

const SkbShared& KernelView::skb_shinfo(const Skb& skb) const { return m_.shinfos.at(skb.shinfo); }

const std::map<SkbId, Skb>& KernelView::skbs() const { return m_.skbs; }

std::vector<SkbId> KernelView::holder_queue(HolderKind kind, uint16_t cpu) const {
  for (const auto& [key, holder] : m_.holders) {
    if (holder.kind == kind && holder.cpu == cpu) return {holder.skbs.begin(), holder.skbs.end()};
  }
  return {};
}

uint64_t KernelView::page_events_appended() const { return m_.page_events.size(); }

const PageEventLog& KernelView::page_events() const { return m_.page_events; }

}  // namespace ppsim::sim
