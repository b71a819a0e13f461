// Op-by-op comparison of the kernel's observations with the model's (observation.h).
//
// Every op compares, in this order: the op's rc (0 or refused); per pool of the sequence its
// state, held pages and how many of them have a DMA address, and, while the module may read the
// pool, the alloc cache and ring counts, ring size, hold/release counters, inflight, nid,
// destroy_cnt, cpuid, whether p.napi is set and whether detach_time is; the set of pages the op
// touched and per page its refcount, pp_ref, signature, page->pp, pfmemalloc, node, whether its
// DMA address is non-zero, where it is (cache, ring, out) and which earlier page index it is
// the same frame as; the netlink dump's entries for the sequence's pools (ifindex and napi-id
// mapped to indices, inflight, inflight-mem, detach-time present); the kernel-log flags.
//
// Time is compared as "by the next retry", never as wall time: destroy_cnt may differ by one
// release retry (page_pool_release_retry runs every DEFER_TIME, net/core/page_pool.c), plus
// one per 25 retries (the timer wheel rounds the kernel's 1 s delayed work up by as much as
// 32 ms: kernel/time/timer.c calc_wheel_index, level 1 at Debian's HZ=250), and a "stalled pool
// shutdown" warning one side printed may appear on the other by the next op. A difference in a
// destroyed pool (its fields, its netlink entry) when the two sides are on different sides of
// one of its release retries (the kernel's ops take real time, ~2 ms each and more under load;
// the model's none) is timing, listed apart and not counted as a divergence: the kernel's
// worker may have run the retry (1 s after the destroy, up to 60 ms late) where the model's
// has not, or the other way round.
#ifndef PPSIM_CLIENT_ORACLE_COMPARE_H_
#define PPSIM_CLIENT_ORACLE_COMPARE_H_

#include <set>
#include <string>
#include <vector>

#include "client/oracle/observation.h"

namespace ppsim::oracle {

struct Divergence {
  int op = 0;
  std::string line;
  std::string field;   // "pool 1 cache", "page 3 dma", "rc", "flags warn"
  std::string kernel;
  std::string model;
  std::string note;    // the refusal reasons, or why a time rule did not excuse it
};

struct NotCompared {
  std::string field;  // "pool.user_napi_id", "page.pp_magic"
  std::string why;
};

struct Comparison {
  std::vector<Divergence> divergences;  // by op, then field order; [0] is the first
  std::vector<Divergence> timing;       // excused by the release-retry rule above
  std::vector<NotCompared> not_compared;  // what these observations had that was left out
  bool agree() const { return divergences.empty(); }
};

struct CompareOptions {
  // Pools created without PP_FLAG_DMA_MAP. page_pool writes page->dma_addr only when it maps
  // (net/core/page_pool.c page_pool_dma_map), so for their pages the kernel shows whatever the
  // page's previous user left in that word: `dma` and `held_dma_nonzero` are not compared.
  std::set<int> unmapped_pools;
};

// `kernel` and `model` are the same sequence, op for op (the caller checked the lines).
Comparison Compare(const std::vector<OpObs>& kernel, const std::vector<OpObs>& model,
                   const CompareOptions& options = {});

// The fields of the kernel's observation file that are never compared, and why.
const std::vector<NotCompared>& FieldsNeverCompared();

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_COMPARE_H_
