// struct page_pool, faithful to net/core/page_pool.c as described in docs/kernel/page-pool.md
// §1–§4 (docs/design.md §3.5). The implementation is split by path: page_pool.cc (create, params,
// accounting, visibility), page_pool_alloc.cc (§3.1–§3.2), page_pool_put.cc (§3.3–§3.5),
// page_pool_destroy.cc (§4).
#ifndef PPSIM_SERVER_SIM_PAGE_POOL_H_
#define PPSIM_SERVER_SIM_PAGE_POOL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/sim/clock.h"
#include "server/sim/memory.h"
#include "server/sim/napi.h"
#include "server/sim/teardown_strategy.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;

// page_pool_unref_netmem (helpers.h): drop nr pp references; when they were the last, the
// count is left at 1 and 0 is returned. Below zero is PP009 (the kernel's WARN_ON).
int64_t PpUnref(Machine& m, PoolId pool, Pfn pfn, Frame& f, int64_t nr);

// Whether pools of `strategy` can run on this lab's profile (INVALID_ARGUMENT naming why not).
absl::Status CheckStrategyFitsProfile(const Machine& m, absl::string_view strategy);

// Flags (include/net/page_pool/types.h; docs/kernel/page-pool.md §2.1).
inline constexpr uint32_t PP_FLAG_DMA_MAP = 1u << 0;
inline constexpr uint32_t PP_FLAG_DMA_SYNC_DEV = 1u << 1;
inline constexpr uint32_t PP_FLAG_SYSTEM_POOL = 1u << 2;
inline constexpr uint32_t PP_FLAG_ALLOW_UNREADABLE_NETMEM = 1u << 3;
inline constexpr uint32_t PP_FLAG_ALL = 0xf;

inline constexpr uint32_t PP_ALLOC_CACHE_SIZE = 128;
inline constexpr uint32_t PP_ALLOC_CACHE_REFILL = 64;
inline constexpr uint32_t kPtrRingDefaultSize = 1024;
inline constexpr uint32_t kPtrRingMaxSize = 16384;
inline constexpr Nanos DEFER_TIME = 1 * kSecond;
inline constexpr Nanos DEFER_WARN_INTERVAL = 60 * kSecond;
// BIAS_MAX on 64-bit from 6.8 (LONG_MAX >> 1); KernelProfile::BiasMax() gives every era's.
inline constexpr int64_t BIAS_MAX = INT64_MAX >> 1;
inline constexpr uint32_t kDmaCacheAlignment = 64;   // dma_get_cache_alignment() on x86-64
inline constexpr int kNumaNoNode = -1;
inline constexpr IfIndex kNetPtrPoison = 0xffffffffu;  // slow.netdev = NET_PTR_POISON

struct PagePoolParams {
  uint32_t flags = 0;
  uint32_t order = 0;
  uint32_t pool_size = 0;  // ptr_ring size; 0 = 1024, capped at 16384
  int32_t nid = kNumaNoNode;
  DeviceId dev = 0;
  NapiId napi = 0;
  DmaDir dma_dir = DmaDir::kFromDevice;
  uint32_t max_len = 0;
  uint32_t offset = 0;
  IfIndex netdev = 0;      // 0 = invisible pool
  uint32_t queue_idx = 0;
  std::string strategy;    // teardown strategy; "" = the lab's default

  // page_pool_init's checks; the message names the field, the value and the kernel's errno.
  absl::Status Validate() const;
};

// CONFIG_PAGE_POOL_STATS (docs/kernel/page-pool.md §2.4).
struct PagePoolAllocStats {
  uint64_t fast = 0, slow = 0, slow_high_order = 0, empty = 0, refill = 0, waive = 0;
};
struct PagePoolRecycleStats {
  uint64_t cached = 0, cache_full = 0, ring = 0, ring_full = 0, released_refcnt = 0;
};

enum class PoolState : uint8_t {
  kActive,    // created, users > 0
  kDetached,  // destroyed with pages in flight: detach_time set, release retried every 1 s
  kFreed,     // __page_pool_destroy ran; only the tombstone remains
};
const char* PoolStateName(PoolState s);

// docs/kernel/page-pool.md §4.2.
enum class Visibility : uint8_t { kNormal, kOrphaned, kInvisible };
const char* VisibilityName(Visibility v);

class PagePool {
 public:
  // page_pool_create: validates, picks the strategy, lists the pool (add-ntf when visible).
  static absl::StatusOr<PagePool*> Create(Machine& m, const PagePoolParams& params);

  PoolId id() const { return id_; }
  const PagePoolParams& params() const { return p_; }
  PoolState state() const { return state_; }
  Visibility visibility() const;
  IfIndex netdev() const { return netdev_; }
  // The netlink ifindex attribute: omitted (nullopt) when orphaned to lo or invisible.
  std::optional<IfIndex> netlink_ifindex() const;
  // NETDEV_A_PAGE_POOL_NAPI_ID: the id page_pool_list stashed at creation, or, where the profile
  // reads it live (67e4bb2ced0f), the linked NAPI's id now (none after destroy). 0 = absent.
  NapiId netlink_napi_id(const Machine& m) const;
  IfIndex list_netdev() const { return netdev_; }
  uint64_t list_seq() const { return list_seq_; }
  // The device's bind_generation when the pool was created.
  uint32_t bind_generation() const { return bind_generation_; }
  std::optional<int64_t> detach_time() const { return detach_time_; }
  uint32_t ring_size() const { return static_cast<uint32_t>(ring_.size()); }
  uint64_t page_bytes() const { return kPageSize << p_.order; }
  TeardownStrategy& strategy() { return *strategy_; }
  const TeardownStrategy& strategy() const { return *strategy_; }

  // inflight = (s32)(hold_cnt - release_cnt) (docs/kernel/page-pool.md §2.3).
  int32_t inflight() const { return static_cast<int32_t>(hold_cnt_ - release_cnt_); }
  // netlink: clamped at 0.
  uint64_t inflight_nonstrict() const { return inflight() < 0 ? 0 : uint64_t(inflight()); }
  uint32_t hold_cnt() const { return hold_cnt_; }
  uint32_t release_cnt() const { return release_cnt_; }
  uint32_t cache_count() const { return cache_count_; }
  uint32_t ring_count() const { return ring_count_; }
  int user_cnt() const { return user_cnt_; }
  int destroy_cnt() const { return destroy_cnt_; }
  bool dma_map() const { return dma_map_; }
  bool dma_sync() const { return dma_sync_; }
  int cpuid() const { return cpuid_; }
  NapiId napi() const { return p_.napi; }
  const PagePoolAllocStats& alloc_stats() const { return alloc_; }
  const PagePoolRecycleStats& recycle_stats() const { return recycle_; }
  Nanos created_at() const { return created_at_; }
  Nanos freed_at() const { return freed_at_; }
  Nanos defer_start() const { return defer_start_; }

  // ---- allocation (page_pool_alloc.cc) -----------------------------------------------------
  // page_pool_alloc_pages: a whole page with one pp reference, or nullopt (the kernel's NULL).
  std::optional<Pfn> AllocPages(Machine& m);
  // page_pool_alloc_frag: `size` bytes of a shared page. Sets *offset.
  std::optional<Pfn> AllocFrag(Machine& m, uint32_t size, uint32_t* offset);

  // ---- return paths (page_pool_put.cc) -----------------------------------------------------
  // page_pool_put_page(pool, page, dma_sync_size, allow_direct): drop one pp reference and,
  // if it was the last, recycle or release. dma_sync_size < 0 = max_len (put_full_page).
  void PutPage(Machine& m, Pfn pfn, int64_t dma_sync_size, bool allow_direct);
  // page_pool_put_netmem_bulk for pages of this pool (the caller grouped them).
  void PutPagesBulk(Machine& m, const std::vector<Pfn>& pfns);
  // page_pool_ref_netmem: one more pp reference (skb_pp_frag_ref, page_pool_fragment_page).
  void RefPage(Machine& m, Pfn pfn, int64_t n = 1);
  // page_pool_return_netmem: unmap (per strategy), release_cnt++, clear pp info, put_page.
  void ReturnPage(Machine& m, Pfn pfn);

  // ---- control (page_pool.cc, page_pool_destroy.cc) ----------------------------------------
  void UpdateNid(Machine& m, int32_t nid);
  void DisableDirectRecycling(Machine& m);
  absl::Status EnableDirectRecycling(Machine& m, NapiId napi);
  void UseXdpMem() { ++user_cnt_; }
  // page_pool_destroy. Does real work only when user_cnt drops to 0.
  void Destroy(Machine& m);
  // The netdev was unregistered while the pool lives: re-link to lo (change-ntf).
  void Orphan(Machine& m);
  // The namespace went away: NET_PTR_POISON, the pool becomes invisible.
  void MakeInvisible(Machine& m);

  // For strategies (docs/kernel/page-pool.md §5): the scrub clears dma_sync (v6.15) and the RFC v4
  // scan clears dma_map, so later returns skip the sync or the unmap.
  void ClearDmaSync() { dma_sync_ = false; }
  void ClearDmaMap() { dma_map_ = false; }
  // release-on-destroy: the page leaves the pool (release_cnt++, pp info cleared) but keeps
  // its page references; no unmap, no put_page.
  void ReleaseWithoutPut(Machine& m, Pfn pfn, Frame& f);

  // Test hook: start the u32 hold/release counters near the wrap point (§2.3).
  void SetCountersForTest(uint32_t hold, uint32_t release) {
    hold_cnt_ = hold;
    release_cnt_ = release;
  }
  // Whether page_pool_napi_local(pool) holds for the current op's context (§3.4).
  bool NapiLocal(const Machine& m) const;
  // napi_pp_put_page's own choice for the skb free path, by era (DirectRecycleRule).
  bool SkbMayRecycleDirect(const Machine& m) const;
  // ppsim's own bookkeeping (invariants.h): cache and ring within their sizes, every queued
  // pfn in range. INTERNAL naming the pool and what broke.
  absl::Status CheckInvariants(const Machine& m) const;

 private:
  friend class PagePoolTestPeer;
  PagePool(PoolId id, const PagePoolParams& p);

  // Alloc helpers.
  std::optional<Pfn> AllocFromRing(Machine& m);
  std::optional<Pfn> AllocSlow(Machine& m);
  bool DmaMap(Machine& m, Pfn pfn, Frame& f);
  bool EnterPool(Machine& m, Pfn pfn, Frame& f);  // map + strategy + set pp info + hold++
  Pfn Handout(Machine& m, Pfn pfn, Frame& f);
  void SyncForDevice(Machine& m, Pfn pfn, Frame& f, int64_t dma_sync_size);
  std::optional<Pfn> DrainFrag(Machine& m, Pfn pfn);
  // Put helpers.
  // __page_pool_page_can_be_recycled: _refcount == 1 and not pfmemalloc.
  bool Recyclable(const Machine& m, const Frame& f) const;
  void PutUnrefed(Machine& m, Pfn pfn, Frame& f, int64_t dma_sync_size, bool allow_direct);
  bool RecycleInCache(Machine& m, Pfn pfn, Frame& f);
  bool RecycleInRing(Machine& m, Pfn pfn, Frame& f);
  bool CheckNotQueued(Machine& m, Pfn pfn, const Frame& f);
  void CheckRecycle(Machine& m, Pfn pfn, const Frame& f);
  void ReportForeignDirectRecycle(Machine& m, Pfn pfn);
  void ReleaseRacesProducer(Machine& m);
  // Destroy helpers.
  int32_t Release(Machine& m);  // page_pool_release: scrub, strict inflight, maybe free
  void Scrub(Machine& m);
  void FreeFrag(Machine& m);
  void ReleaseRetry(Machine& m);
  void FreePool(Machine& m);
  std::optional<Pfn> RingConsume();

  PoolId id_;
  PagePoolParams p_;
  PoolState state_ = PoolState::kActive;
  IfIndex netdev_ = 0;
  // Place in its netdev's page_pools hlist: higher = nearer the head (hlist_add_head at
  // creation; unregister splices the netdev's list in front of lo's).
  uint64_t list_seq_ = 0;
  NapiId napi_id_ = 0;  // netlink napi-id, kept after the NAPI link is cleared
  uint32_t bind_generation_ = 0;
  const Napi* napi_ptr_ = nullptr;  // &m.napis[p_.napi] while linked: the hot path's lookup
  std::unique_ptr<TeardownStrategy> strategy_;

  std::array<Pfn, PP_ALLOC_CACHE_SIZE> cache_{};
  uint32_t cache_count_ = 0;
  std::vector<Pfn> ring_;  // ptr_ring storage; ring_count_ entries from ring_head_
  uint32_t ring_head_ = 0;   // ptr_ring consumer_head
  uint32_t ring_count_ = 0;
  // ptr_ring's consumer clears the slots it consumed only in batches (consumer_tail ..
  // consumer_head, r->batch at a time, and at the end of the array), and the producer finds
  // the ring full at the first slot still set: consumed-but-uncleared slots take capacity
  // (include/linux/ptr_ring.h __ptr_ring_discard_one, __ptr_ring_produce).
  uint32_t ring_tail_ = 0;   // ptr_ring consumer_tail
  uint32_t ring_batch_ = 1;  // ptr_ring batch
  bool RingFull() const;

  Pfn frag_page_ = Memory::kNoPfn;
  uint32_t frag_offset_ = 0;
  int64_t frag_users_ = 0;

  uint32_t hold_cnt_ = 0;
  uint32_t release_cnt_ = 0;
  int user_cnt_ = 1;
  int destroy_cnt_ = 0;
  bool dma_map_ = false;
  bool dma_sync_ = false;
  int cpuid_ = -1;

  Nanos created_at_ = 0;
  Nanos freed_at_ = -1;
  std::optional<int64_t> detach_time_;  // CLOCK_BOOTTIME seconds
  Nanos defer_start_ = 0;
  Nanos defer_warn_ = 0;
  bool stalled_reported_ = false;
  TimerId retry_timer_ = 0;

  PagePoolAllocStats alloc_;
  PagePoolRecycleStats recycle_;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_PAGE_POOL_H_
