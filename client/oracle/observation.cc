#include "client/oracle/observation.h"

#include "absl/container/flat_hash_map.h"

namespace ppsim::oracle {

// A page index names one frame for the whole sequence, so the lowest index seen on a frame is
// the page an allocation handed out again (recycled through the pool, or reused by the page
// allocator).
void LinkSamePfns(std::vector<OpObs>& ops) {
  absl::flat_hash_map<uint64_t, int> first;
  for (OpObs& o : ops) {
    for (PageObs& p : o.pages) {
      auto [it, inserted] = first.try_emplace(p.pfn, p.page);
      if (!inserted && it->second > p.page) it->second = p.page;
      p.same_pfn_as = it->second < p.page ? it->second : 0;
    }
  }
}

}  // namespace ppsim::oracle
