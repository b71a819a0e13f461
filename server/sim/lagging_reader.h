// Lockless readers that lag behind an unmap: GUP-fast and RCU readers in virtual time
// (docs/kernel/skb-and-iommu.md §5). A reader loads a page pointer (a PTE) at `start` without a
// reference, may later try to take one, and ends its read-side section at `end`. An updater
// that unpublishes the page at `u` may free it only after GP(u) = max(u, end of every reader
// that started at or before u). Freeing earlier is a violation (PP010): a reader that started
// before the unmap can still take a reference on the page after it was reused — by a pool,
// say — and its eventual put can free a page it never owned.
#ifndef PPSIM_SERVER_SIM_LAGGING_READER_H_
#define PPSIM_SERVER_SIM_LAGGING_READER_H_

#include <cstdint>

#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;

using ReaderId = uint32_t;

struct LaggingReader {
  ReaderId id = 0;
  Pfn pfn = 0;
  uint32_t generation_seen = 0;
  Nanos start = 0;
  bool ended = false;
  bool holds_ref = false;
};

// The page is mapped into a user VMA (TCP receive zerocopy) / published in an RCU slot.
void UserMap(Machine& m, Pfn pfn);
// unmap_mapping_range: the mapping is gone at now(); no grace period is waited for.
void UserUnmap(Machine& m, Pfn pfn);
// GUP-fast: load the PTE (no reference yet).
ReaderId ReaderBegin(Machine& m, Pfn pfn);
// folio_try_get on the page the reader saw: fails only when _refcount is 0.
bool ReaderTryGet(Machine& m, ReaderId id);
// Re-check the PTE; if it changed, drop the reference taken. Ends the read-side section.
void ReaderEnd(Machine& m, ReaderId id);
// The owner's put deferred to the end of the grace period (call_rcu / mmu_gather): runs now if
// no reader that started before it is still inside.
void PutPageAfterGracePeriod(Machine& m, Pfn pfn);
// Called by the page allocator's free path: PP010 if a reader that could still see the
// unpublished page has not finished.
void CheckGracePeriodAtFree(Machine& m, Pfn pfn);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_LAGGING_READER_H_
