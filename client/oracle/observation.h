// One op's observation in the terms both sides can give: what the kernel's test module reported
// (tests/oracle/README.md "What is observed", read by kernel_observation.h) and what the model
// shows for the same op (model_run.h). Kernel ids never appear here: pools, pages, netdevs and
// NAPIs are the sequence's 1-based indices, so the two sides compare field by field.
// An absent optional is a value that side did not report (a pool the module may not read, a
// field an older kernel lacks); compare.h lists what was left out, never silently.
#ifndef PPSIM_CLIENT_ORACLE_OBSERVATION_H_
#define PPSIM_CLIENT_ORACLE_OBSERVATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ppsim::oracle {

struct PoolObs {
  int pool = 0;                // index
  std::string state;           // live | destroyed (page_pool_destroy was called)
  int held = 0;                // pages the sequence holds a pool reference to
  int held_dma_nonzero = 0;    // of those, page_pool_get_dma_addr() != 0
  bool readable = true;        // the module may read the pool (ppo_pool_reachable)
  // struct page_pool, while readable.
  std::optional<int64_t> cache, ring, ring_size, hold, release, inflight, nid, destroy_cnt;
  std::optional<int64_t> cpuid;     // >= 6.9
  std::optional<bool> napi_set;     // p.napi != NULL, >= 6.5
  std::optional<bool> detached;     // user.detach_time set, >= 6.8
};

struct PageObs {
  int page = 0;  // index
  int pool = 0;  // index of the pool it came from
  uint64_t pfn = 0;           // that side's own frame number: only for reuse, never compared
  int64_t refcount = 0;
  int64_t pp_ref = 0;
  bool signature = false;     // pp_magic under PP_MAGIC_MASK is PP_SIGNATURE
  bool pp_is_pool = false;    // page->pp is the page's pool
  bool pfmemalloc = false;
  int64_t nid = 0;
  bool dma_nonzero = false;
  std::optional<std::string> where;  // cache | ring | out, while the pool is readable
  // The lowest earlier page index on the same frame in the same life (since the frame last
  // entered a pool from the page allocator): the page came back through the pool. 0 = none,
  // including a frame the page allocator handed out again.
  int same_pfn_as = 0;
};

// A paged fragment of an skb: the page by its index (the latest allocation of that frame).
struct FragObs {
  int page = 0;  // 0: not one of the sequence's pages
  int64_t off = 0;
  int64_t size = 0;
};

// An skb the op touched (tests/oracle/kmod/ppo_skb.c): the skbs it named and made. Fields
// other than `state` only while the sequence holds it (live, or in the holder).
struct SkbObs {
  int skb = 0;                 // index, in the order the sequence made them
  std::string state;           // live | held | chained | freed
  bool pp_recycle = false;
  int64_t dataref = 0;         // skb_shinfo(skb)->dataref & SKB_DATAREF_MASK
  int64_t nr_frags = 0;
  bool cloned = false;         // skb_cloned(): the data is shared with a clone
  std::optional<bool> cloned_bit;  // skb->cloned (kernel only: it stays set after the clone goes)
  int64_t len = 0, data_len = 0, headlen = 0;
  int head_page = 0;           // the head's pool page (build_skb), 0: a slab head or none
  int64_t frag_list = 0;       // skbs chained on its frag_list
  std::vector<FragObs> frags;
};

// One entry of the netlink page-pool-get dump, for a pool of the sequence.
struct NetlinkObs {
  int pool = 0;
  std::string ifindex;  // "netdev N", "lo", "absent", or "ifindex X" when not the sequence's
  std::string napi;     // "napi N", "absent", or "napi-id X"
  int64_t inflight = 0;
  int64_t inflight_mem = 0;
  bool detached = false;  // detach-time attribute present
};

// The runner's classification of the kernel log lines since the previous op (ppo-run.c
// scan_flags), applied to the model's kernel-log lines the same way.
struct LogFlags {
  bool warn = false, bug = false, stalled = false, bad_page = false, oops = false;
};

struct OpObs {
  int op = 0;              // 0-based, as the observation file counts
  std::string line;
  bool refused = false;    // the op's rc was not 0
  std::string err;         // why, when refused
  std::vector<PoolObs> pools;
  std::vector<PageObs> pages;  // the pages the op touched (every held one for destroy/observe)
  std::vector<SkbObs> skbs;    // the skbs the op touched (every held one for observe)
  std::optional<std::vector<NetlinkObs>> netlink;  // nullopt: no netdev netlink family
  LogFlags flags;
  // Frames that entered a pool during the op (page_pool_state_hold: taken from the page
  // allocator), in that side's own pfns: each starts a new life of the frame.
  std::vector<uint64_t> held_pfns;
  // Seconds since the sequence's first op when the op was observed: the kernel's uptime (it
  // runs in real time, ~2 ms an op and more under load), the model's clock (ops take none).
  std::optional<double> t_s;
};

// Fills every page's same_pfn_as from the pfns seen so far and the holds, in op order.
void LinkSamePfns(std::vector<OpObs>& ops);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_OBSERVATION_H_
