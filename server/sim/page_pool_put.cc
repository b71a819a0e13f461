// Return paths of the pool (docs/kernel/page-pool.md §3.3–§3.5).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/device.h"
#include "server/sim/dma_api.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

namespace {

// pp_ref_count is an atomic_long: atomic_long_add/sub wrap in two's complement (the kernel is
// built with -fno-strict-overflow, Documentation/atomic_t.txt), so a page that starts at
// BIAS_MAX = LONG_MAX (v5.15..v6.7) and takes one more reference reads LONG_MIN, not UB.
int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

}  // namespace

int64_t PpUnref(Machine& m, PoolId pool, Pfn pfn, Frame& f, int64_t nr) {
  if (!m.profile.pp_ref_on_every_page) {
    // Before 58d53d8f7da6 only fragmented pages carried a count: a whole page reads 0 and every
    // put of it is the last one; the last fragment leaves the count as it was.
    if (f.pp_ref_count == 0 || f.pp_ref_count == nr) return 0;
  } else if (f.pp_ref_count == nr) {
    f.pp_ref_count = 1;  // page_pool_unref_netmem resets the drained count to 1
    return 0;
  }
  f.pp_ref_count = WrappingAdd(f.pp_ref_count, -nr);
  const int64_t ret = f.pp_ref_count;
  if (ret < 0) {
    m.Log(LogLevel::kWarn, "WARNING: page_pool_unref_netmem: pp_ref_count went negative", pool);
    m.Violate(ViolationId::kPP009,
              absl::StrFormat("pp_ref_count of pfn 0x%x went to %d: more pp references were "
                              "dropped than taken",
                              pfn, ret),
              {.pfn = pfn, .pool = pool});
    // WARN_ON(ret < 0) and nothing else: the count stays negative, and a later put is the last
    // one only if new references bring it back to exactly what that put drops
    // (include/net/page_pool/helpers.h:page_pool_unref_netmem, v6.12; 6.1's
    // page_pool_defrag_page alike). Only 0 is reset to 1.
    return ret;
  }
  if (ret == 0) f.pp_ref_count = 1;
  return ret;
}

void PagePool::RefPage(Machine& m, Pfn pfn, int64_t n) {
  Frame& f = m.memory.At(pfn);
  f.pp_ref_count = WrappingAdd(f.pp_ref_count, n);
  m.RecordPage(pfn, f, PageEventKind::kPpRef, static_cast<uint64_t>(f.pp_ref_count), id_);
}

bool PagePool::Recyclable(const Machine& m, const Frame& f) const {
  return f.refcount == 1 && (!f.pfmemalloc() || m.profile.pool_recycles_pfmemalloc);
}

bool PagePool::CheckNotQueued(Machine& m, Pfn pfn, const Frame& f) {
  if (f.state != FrameState::kPoolCache && f.state != FrameState::kPoolRing) return true;
  m.Violate(ViolationId::kPP008,
            absl::StrFormat("pfn 0x%x returned to pool %d while it already sits in the %s: the "
                            "same page would be handed out twice",
                            pfn, id_, f.state == FrameState::kPoolCache ? "alloc cache" : "ptr_ring"),
            {.pfn = pfn, .pool = id_});
  return false;
}

// What the pool must never take back: a page it does not own (B1's second free path), a
// pfmemalloc page (§1.2). Reported, then done as the kernel would.
void PagePool::CheckRecycle(Machine& m, Pfn pfn, const Frame& f) {
  if (!m.IsPpPage(f) || f.pool != id_) {
    m.Violate(ViolationId::kPP016,
              absl::StrFormat("pool %d recycles pfn 0x%x, which it does not own (%s, page->pp "
                              "%d): its DMA mapping and accounting are gone",
                              id_, pfn, m.IsPpPage(f) ? "signed" : "no signature", f.pool),
              {.pfn = pfn, .pool = id_});
  } else if (f.pfmemalloc()) {
    m.Violate(ViolationId::kPP016,
              absl::StrFormat("pool %d recycles pfmemalloc pfn 0x%x: an emergency-reserve page "
                              "kept for RX starves the reserves (page_is_pfmemalloc pages must "
                              "be released)",
                              id_, pfn),
              {.pfn = pfn, .pool = id_});
  }
}

bool PagePool::RecycleInCache(Machine& m, Pfn pfn, Frame& f) {
  if (cache_count_ == PP_ALLOC_CACHE_SIZE) {
    ++recycle_.cache_full;
    return false;
  }
  CheckRecycle(m, pfn, f);
  cache_[cache_count_++] = pfn;
  f.state = FrameState::kPoolCache;
  ++recycle_.cached;
  m.RecordPage(pfn, f, PageEventKind::kRecycleCache, cache_count_, id_);
  return true;
}

bool PagePool::RecycleInRing(Machine& m, Pfn pfn, Frame& f) {
  if (RingFull()) return false;
  CheckRecycle(m, pfn, f);
  ring_[(ring_head_ + ring_count_) % ring_.size()] = pfn;
  ++ring_count_;
  f.state = FrameState::kPoolRing;
  ++recycle_.ring;  // counted inside the producer lock since 271683bb2cf3
  m.RecordPage(pfn, f, PageEventKind::kRecycleRing, ring_count_, id_);
  if (state_ == PoolState::kDetached &&
      m.ShouldFail(FaultSite::kReleaseDuringRingProduce,
                   {.pool = id_, .device = p_.dev, .ctx = m.ctx}, pfn)) {
    ReleaseRacesProducer(m);
  }
  return true;
}

// §2.1 B8 / docs/kernel/page-pool.md §9.2: the release worker on another CPU drains the ring while
// the producer still holds the producer lock. Since 271683bb2cf3 release takes and drops that
// lock first, so it waits for the producer; before, it may free the pool under the producer,
// which then unlocks and counts inside freed memory.
void PagePool::ReleaseRacesProducer(Machine& m) {
  const ExecContext saved = m.ctx;
  m.ctx = ExecContext{CtxKind::kWorkqueue, static_cast<uint16_t>((saved.cpu + 1) % m.config.cpus)};
  Release(m);
  m.ctx = saved;
  if (state_ == PoolState::kFreed && !m.profile.release_syncs_producer_lock) {
    m.Log(LogLevel::kCrit, "BUG: KASAN: slab-use-after-free in page_pool_recycle_in_ring", id_);
    m.Violate(ViolationId::kPP015,
              absl::StrFormat("page_pool_recycle_in_ring produced the last page of pool %d; the "
                              "release worker drained the ring and freed the pool before the "
                              "producer unlocked the ring and bumped recycle_stats.ring in the "
                              "freed pool (fixed by 271683bb2cf3)",
                              id_),
              {.pool = id_});
  }
}

// __page_pool_put_page + page_pool_put_unrefed_netmem: recyclable iff _refcount == 1 and not
// pfmemalloc; direct recycling into the cache only when allowed; else the ring; else release.
void PagePool::PutUnrefed(Machine& m, Pfn pfn, Frame& f, int64_t dma_sync_size,
                          bool allow_direct) {
  if (!CheckNotQueued(m, pfn, f)) return;
  const bool forced_direct = allow_direct;
  // 4a96a4e807c3 (6.10): page_pool_put_unrefed_netmem promotes any put made where the pool's
  // consumer runs; before, only the caller's allow_direct counts (the oracle: a put with
  // allow_direct=false inside the NAPI poll lands in the cache on 6.12/7.3, the ring on 6.1).
  if (!allow_direct && m.profile.direct_recycle_rule == DirectRecycleRule::kNapiLocal) {
    allow_direct = NapiLocal(m);
  }
  // Before 4a96a4e807c3 __page_pool_put_page honoured allow_direct only in softirq context
  // (in_softirq(); the oracle: a process-context put with allow_direct=true goes to the ring on
  // 6.1.176, to the cache on 6.12.95).
  if (allow_direct && m.profile.direct_recycle_rule != DirectRecycleRule::kNapiLocal &&
      m.ctx.kind != CtxKind::kSoftirq) {
    allow_direct = false;
  }
  if (!Recyclable(m, f)) {
    ++recycle_.released_refcnt;
    ReturnPage(m, pfn);
    return;
  }
  SyncForDevice(m, pfn, f, dma_sync_size);
  if (allow_direct && RecycleInCache(m, pfn, f)) {
    if (forced_direct && !NapiLocal(m)) ReportForeignDirectRecycle(m, pfn);
    return;
  }
  if (!RecycleInRing(m, pfn, f)) {
    ++recycle_.ring_full;
    ReturnPage(m, pfn);
  }
}

// §1.5 / §2.1 B9: the lockless alloc cache belongs to the pool's NAPI context. A caller that
// forces direct recycling from anywhere else pushes while the owner may pop: one page can end
// up handed out twice.
void PagePool::ReportForeignDirectRecycle(Machine& m, Pfn pfn) {
  int owner = cpuid_;
  if (owner < 0 && p_.napi != 0) {
    if (auto it = m.napis.find(p_.napi); it != m.napis.end()) owner = it->second.list_owner;
  }
  m.Violate(ViolationId::kPP008,
            absl::StrFormat("direct recycling of pfn 0x%x into pool %d's lockless alloc cache "
                            "from %s on CPU %d, which does not own it (%s): two contexts push "
                            "and pop the same array and a page can be handed out twice",
                            pfn, id_, CtxKindName(m.ctx.kind), m.ctx.cpu,
                            owner >= 0 ? absl::StrCat("its NAPI runs on CPU ", owner)
                                       : std::string("direct recycling is disabled: the pool is "
                                                     "being destroyed")),
            {.pfn = pfn, .pool = id_});
}

void PagePool::PutPage(Machine& m, Pfn pfn, int64_t dma_sync_size, bool allow_direct) {
  Frame& f = m.memory.At(pfn);
  // The last reference is recorded by what follows (recycle or release); only a put that
  // leaves references behind (fragments) needs its own event. Keeps the hot path to two
  // page events per alloc+recycle pair.
  if (PpUnref(m, id_, pfn, f, 1) != 0) {
    m.RecordPage(pfn, f, PageEventKind::kPpPut, static_cast<uint64_t>(f.pp_ref_count), id_);
    return;
  }
  PutUnrefed(m, pfn, f, dma_sync_size, allow_direct);
}

// page_pool_put_netmem_bulk for this pool's pages: unref pass, then the common put logic with
// ring candidates produced 16 at a time under one producer-lock hold (§3.3).
void PagePool::PutPagesBulk(Machine& m, const std::vector<Pfn>& pfns) {
  constexpr size_t kBulk = 16;  // XDP_BULK_QUEUE_SIZE
  // Bulk puts never asked for direct recycling before 4a96a4e807c3.
  const bool allow_direct =
      m.profile.direct_recycle_rule == DirectRecycleRule::kNapiLocal && NapiLocal(m);
  std::vector<Pfn> bulk;
  auto flush = [&] {
    size_t i = 0;
    for (; i < bulk.size(); ++i) {
      if (!RecycleInRing(m, bulk[i], m.memory.At(bulk[i]))) {
        ++recycle_.ring_full;
        break;
      }
    }
    for (; i < bulk.size(); ++i) ReturnPage(m, bulk[i]);  // outside the lock
    bulk.clear();
  };
  for (Pfn pfn : pfns) {
    Frame& f = m.memory.At(pfn);
    // The same page twice in one bulk: the kernel walks the array in order, so the first entry
    // may already have given the page back to the allocator. Touching it again is a
    // use-after-free; the model reports it and leaves the free page alone (found by
    // lab_ops_fuzzer: a second free corrupted the simulated buddy lists).
    if (f.is_free() || f.state == FrameState::kTail) {
      m.Violate(ViolationId::kPP010,
                absl::StrFormat("page_pool_put_page_bulk on pfn 0x%x, which an earlier entry of "
                                "the same bulk returned to the page allocator",
                                pfn),
                {.pfn = pfn, .pool = id_});
      continue;
    }
    m.RecordPage(pfn, f, PageEventKind::kPpPut, static_cast<uint64_t>(f.pp_ref_count), id_);
    if (PpUnref(m, id_, pfn, f, 1) != 0) continue;
    if (!CheckNotQueued(m, pfn, f)) continue;
    // The same page earlier in this bulk and still in the batch for the ring: its pp_ref_count
    // was reset to 1 by that entry's unref (page_pool_unref_netmem), so the kernel counts this
    // entry as a last reference too and would produce the page into the ring twice, to be handed
    // out twice (found by lab_ops_fuzzer). Reported as CheckNotQueued reports it.
    if (std::find(bulk.begin(), bulk.end(), pfn) != bulk.end()) {
      m.Violate(ViolationId::kPP008,
                absl::StrFormat("pfn 0x%x appears twice in one page_pool_put_page_bulk: it "
                                "would go into the ptr_ring twice and be handed out twice",
                                pfn),
                {.pfn = pfn, .pool = id_});
      continue;
    }
    if (!Recyclable(m, f)) {
      ++recycle_.released_refcnt;
      ReturnPage(m, pfn);
      continue;
    }
    SyncForDevice(m, pfn, f, -1);
    if (allow_direct && RecycleInCache(m, pfn, f)) continue;
    bulk.push_back(pfn);
    if (bulk.size() == kBulk) flush();
  }
  flush();
}

// page_pool_return_netmem (§3.5): DMA release as the strategy decides, release_cnt++ (after
// which the kernel may free the pool), clear pp info, put_page.
void PagePool::ReturnPage(Machine& m, Pfn pfn) {
  Frame& f = m.memory.At(pfn);
  const bool unmap = strategy_->ShouldUnmapOnRelease(m, *this, pfn, f);
  if (dma_map_ && unmap && f.dma_addr != 0) {
    if (Device* dev = m.FindDevice(p_.dev)) {
      DmaUnmapPage(m, *dev, f.dma_addr, page_bytes(), p_.dma_dir, {pfn, id_});
    }
  }
  f.dma_addr = 0;
  ReleaseWithoutPut(m, pfn, f);
  m.PutPage(pfn, f);
}

void PagePool::ReleaseWithoutPut(Machine& m, Pfn pfn, Frame& f) {
  ++release_cnt_;
  m.RecordPage(pfn, f, PageEventKind::kRelease, release_cnt_, id_);
  f.pp_magic = 0;  // page_pool_clear_pp_info: signature, DMA index and pp cleared
  f.pool = 0;
  f.state = FrameState::kAllocated;
}

}  // namespace ppsim::sim
