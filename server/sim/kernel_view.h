// A lab's kernel structures as a module that reads them would see them: struct page, struct
// page_pool, struct sk_buff with its skb_shared_info, the stack's queues, and the page event
// log. The kernel oracle (client/oracle) observes the model through it as its test module
// observes a kernel (tests/oracle/kmod/ppo_obs.c), so it reads and never writes: every op still
// goes through Lab::Apply, into the trace and the digest (docs/design.md §3.1).
//
// A view, not a copy: it and every pointer or reference it returns are valid until the lab's
// next op.
//
// Example:
//   const sim::KernelView k = lab->kernel_view();
//   if (const sim::Skb* skb = k.skb(id); skb != nullptr && skb->on_frag_list == 0) {
//     n_frags = k.skb_shinfo(*skb).frags.size();
//   }
#ifndef PPSIM_SERVER_SIM_KERNEL_VIEW_H_
#define PPSIM_SERVER_SIM_KERNEL_VIEW_H_

#include <cstdint>
#include <map>
#include <vector>

#include "server/sim/events.h"
#include "server/sim/memory.h"
#include "server/sim/skb.h"
#include "server/sim/stack_holder.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;
class PagePool;

class KernelView {
 public:
  explicit KernelView(const Machine& m) : m_(m) {}

  // struct page; nullptr for a frame never touched (free since boot). pfn must be in range.
  const Frame* page(Pfn pfn) const;
  // page_to_nid().
  uint32_t page_to_nid(Pfn pfn) const;
  // page_pool_page_is_pp() under the lab's kernel profile (docs/kernel/page-pool.md §1.2).
  bool page_is_pp(const Frame& f) const;

  // struct page_pool, a freed pool's tombstone included; nullptr for an id never created.
  const PagePool* page_pool(PoolId id) const;

  // struct sk_buff; nullptr once freed.
  const Skb* skb(SkbId id) const;
  // skb_shinfo(skb).
  const SkbShared& skb_shinfo(const Skb& skb) const;
  // Every live skb by id, chained ones (on a frag_list) included.
  const std::map<SkbId, Skb>& skbs() const;
  // The queue of the stack holder (kind, cpu), oldest first: the order StackRelease frees in.
  // Empty when that holder never held an skb.
  std::vector<SkbId> holder_queue(HolderKind kind, uint16_t cpu) const;

  // How many page events were ever appended: an op's events are those appended after the
  // count taken before it.
  uint64_t page_events_appended() const;
  // Each event appended after `after` that the ring still holds, oldest first.
  template <class Fn> void ForEachPageEventAfter(uint64_t after, Fn fn) const {
    page_events().ForEachAfter(after, fn);
  }

 private:
  const PageEventLog& page_events() const;

  const Machine& m_;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_KERNEL_VIEW_H_
