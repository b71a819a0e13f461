#include "client/oracle/observation.h"

#include "absl/container/flat_hash_map.h"

namespace ppsim::oracle {

// A page index names one frame for the whole sequence, so the lowest index seen on a frame is
// the page an allocation handed out again. Only reuse within one life of the frame counts: a
// frame that went back to the page allocator and entered a pool again (page_pool_state_hold)
// starts over, because which free frame the allocator hands out depends on every allocation
// in the machine (the kernel's per-CPU lists and buddy order, the runner's own reads, kworkers),
// not on the sequence; recycling through the pool's cache and ring depends on nothing else.
void LinkSamePfns(std::vector<OpObs>& ops) {
  absl::flat_hash_map<uint64_t, int> first;
  for (OpObs& o : ops) {
    for (uint64_t pfn : o.held_pfns) first.erase(pfn);
    for (PageObs& p : o.pages) {
      auto [it, inserted] = first.try_emplace(p.pfn, p.page);
      if (!inserted && it->second > p.page) it->second = p.page;
      p.same_pfn_as = it->second < p.page ? it->second : 0;
    }
  }
}

}  // namespace ppsim::oracle
