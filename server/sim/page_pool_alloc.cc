// Allocation paths of the pool (docs/kernel/page-pool.md §3.1–§3.2).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/device.h"
#include "server/sim/dma_api.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {


Pfn PagePool::Handout(Machine& m, Pfn pfn, Frame& f) {
  f.state = FrameState::kPoolOut;
  ++f.generation;
  m.RecordPage(pfn, f, PageEventKind::kHandout, f.generation, id_);
  return pfn;
}

bool PagePool::DmaMap(Machine& m, Pfn pfn, Frame& f) {
  Device* dev = m.FindDevice(p_.dev);
  const DmaAddr addr = DmaMapPage(m, *dev, pfn, page_bytes(), p_.dma_dir, {pfn, id_});
  if (addr == 0) return false;
  f.dma_addr = addr;
  return true;
}

void PagePool::SyncForDevice(Machine& m, Pfn pfn, Frame& f, int64_t dma_sync_size) {
  if (!dma_sync_) return;
  Device* dev = m.FindDevice(p_.dev);
  // dma_dev_need_sync(): the device's constant before the skip-sync flag (f406c8e4b770); after
  // it the flag as it stands now, which a swiotlb bounce raises (the oracle's swiotlb probe:
  // after the flip the pool syncs a page for the device when it is put back).
  if (dev == nullptr || !(m.profile.dma_skip_sync ? dev->dma_need_sync : dev->needs_sync)) return;
  const uint64_t size = dma_sync_size < 0 ? p_.max_len
                                          : std::min<uint64_t>(dma_sync_size, p_.max_len);
  DmaSync(m, *dev, f.dma_addr + p_.offset, size, p_.dma_dir, false, {pfn, id_});
}

// A page from the allocator enters the pool: DMA map, strategy tracking, page_pool_set_pp_info,
// pages_state_hold_cnt++. On failure the page goes back to the allocator.
bool PagePool::EnterPool(Machine& m, Pfn pfn, Frame& f) {
  if (dma_map_ && !DmaMap(m, pfn, f)) {
    m.PutPage(pfn, f);
    return false;
  }
  if (absl::Status s = strategy_->OnEnter(m, *this, pfn, f, dma_map_); !s.ok()) {
    if (dma_map_) {
      Device* dev = m.FindDevice(p_.dev);
      DmaUnmapPage(m, *dev, f.dma_addr, page_bytes(), p_.dma_dir, {pfn, id_});
      f.dma_addr = 0;
    }
    f.pp_magic = 0;
    m.PutPage(pfn, f);
    return false;
  }
  f.pool = id_;
  f.pp_magic |= m.pp_signature();
  // page_pool_set_pp_info sets one pp reference since 58d53d8f7da6 (6.7); before, whole pages
  // kept 0 (6.1.176 observed).
  f.pp_ref_count = m.profile.pp_ref_on_every_page ? 1 : 0;
  f.state = FrameState::kPoolCache;
  ++hold_cnt_;
  m.RecordPage(pfn, f, PageEventKind::kPoolHold, hold_cnt_, id_);
  SyncForDevice(m, pfn, f, p_.max_len);
  return true;
}

// __ptr_ring_consume: take the entry at the consumer head; the slots behind it are cleared
// once `batch` of them have been consumed, or the head reaches the end of the array.
std::optional<Pfn> PagePool::RingConsume() {
  if (ring_count_ == 0) return std::nullopt;
  const Pfn pfn = ring_[ring_head_];
  const uint32_t head = ring_head_ + 1;
  const uint32_t size = static_cast<uint32_t>(ring_.size());
  if (head - ring_tail_ >= ring_batch_ || head >= size) {
    for (uint32_t i = ring_tail_; i < head; ++i) ring_[i] = Memory::kNoPfn;
    ring_tail_ = head;
  }
  ring_head_ = head >= size ? 0 : head;
  if (head >= size) ring_tail_ = 0;
  --ring_count_;
  return pfn;
}

// __ptr_ring_produce fails when the slot at the producer is still set: a live entry (the ring
// is full) or one consumed but not cleared yet.
bool PagePool::RingFull() const {
  if (ring_.empty()) return true;
  return ring_[(ring_head_ + ring_count_) % ring_.size()] != Memory::kNoPfn;
}

// page_pool_refill_alloc_cache: up to 64 pages on the preferred node; the first off-node page
// is released (waive) and ends the refill.
std::optional<Pfn> PagePool::AllocFromRing(Machine& m) {
  if (ring_count_ == 0) {
    ++alloc_.empty;
    return std::nullopt;
  }
  const uint32_t pref = p_.nid == kNumaNoNode ? m.LocalNode() : static_cast<uint32_t>(p_.nid);
  do {
    std::optional<Pfn> pfn = RingConsume();
    if (!pfn) break;
    Frame& f = m.memory.At(*pfn);
    if (m.memory.NodeOf(*pfn) == pref) {
      f.state = FrameState::kPoolCache;
      cache_[cache_count_++] = *pfn;
    } else {
      ReturnPage(m, *pfn);
      ++alloc_.waive;
      break;
    }
  } while (cache_count_ < PP_ALLOC_CACHE_REFILL);
  if (cache_count_ == 0) return std::nullopt;
  ++alloc_.refill;
  const Pfn pfn = cache_[--cache_count_];
  return Handout(m, pfn, m.memory.At(pfn));
}

std::optional<Pfn> PagePool::AllocSlow(Machine& m) {
  const FaultTarget target{.pool = id_, .device = p_.dev, .ctx = m.ctx};
  if (p_.order > 0) {
    std::optional<Pfn> pfn = m.AllocPages(p_.nid, p_.order, target);
    if (!pfn) return std::nullopt;
    Frame& f = m.memory.At(*pfn);
    if (!EnterPool(m, *pfn, f)) return std::nullopt;
    ++alloc_.slow_high_order;
    return Handout(m, *pfn, f);
  }
  // Bulk: up to 64 order-0 pages straight into the cache; inflight jumps by up to 64.
  std::array<Pfn, PP_ALLOC_CACHE_REFILL> got;
  const uint32_t n = m.AllocPagesBulk(p_.nid, PP_ALLOC_CACHE_REFILL, target, got.data());
  for (uint32_t i = 0; i < n; ++i) {
    Frame& f = m.memory.At(got[i]);
    if (EnterPool(m, got[i], f)) cache_[cache_count_++] = got[i];
  }
  if (cache_count_ == 0) return std::nullopt;
  ++alloc_.slow;
  const Pfn pfn = cache_[--cache_count_];
  return Handout(m, pfn, m.memory.At(pfn));
}

std::optional<Pfn> PagePool::AllocPages(Machine& m) {
  if (cache_count_ > 0) {
    ++alloc_.fast;
    const Pfn pfn = cache_[--cache_count_];
    return Handout(m, pfn, m.memory.At(pfn));
  }
  if (std::optional<Pfn> pfn = AllocFromRing(m)) return pfn;
  return AllocSlow(m);
}

// page_pool_drain_frag: give back the bias that was never handed out. Returns the page when
// every fragment was already freed and it can be reused as the next frag page.
std::optional<Pfn> PagePool::DrainFrag(Machine& m, Pfn pfn) {
  Frame& f = m.memory.At(pfn);
  if (PpUnref(m, id_, pfn, f, m.profile.BiasMax() - frag_users_) != 0) return std::nullopt;
  if (Recyclable(m, f)) {
    SyncForDevice(m, pfn, f, -1);
    return pfn;
  }
  ReturnPage(m, pfn);
  return std::nullopt;
}

std::optional<Pfn> PagePool::AllocFrag(Machine& m, uint32_t size, uint32_t* offset) {
  const uint64_t max_size = page_bytes();
  size = (size + kDmaCacheAlignment - 1) & ~(kDmaCacheAlignment - 1);
  if (size > max_size) {
    m.Log(LogLevel::kWarn,
          absl::StrCat("WARNING: page_pool_alloc_frag_netmem: size ", size, " > ", max_size), id_);
    return std::nullopt;
  }
  std::optional<Pfn> page;
  if (frag_page_ != Memory::kNoPfn) page = frag_page_;
  *offset = frag_offset_;
  if (page && *offset + size > max_size) {
    page = DrainFrag(m, *page);
    if (page) {
      ++recycle_.cached;
      ++alloc_.fast;
      Handout(m, *page, m.memory.At(*page));
    }
  } else if (page) {
    ++frag_users_;
    frag_offset_ = *offset + size;
    m.RecordPage(*page, m.memory.At(*page), PageEventKind::kFragHandout, *offset, id_);
    return page;
  }
  if (!page) {
    page = AllocPages(m);
    if (!page) {
      frag_page_ = Memory::kNoPfn;
      return std::nullopt;
    }
  }
  frag_page_ = *page;
  frag_users_ = 1;
  *offset = 0;
  frag_offset_ = size;
  // page_pool_fragment_netmem(page, BIAS_MAX)
  m.memory.At(*page).pp_ref_count = m.profile.BiasMax();
  return page;
}

}  // namespace ppsim::sim
