// Destroy life-cycle of the pool (docs/kernel/page-pool.md §4).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

// page_pool_free_frag: drain the bias of the current frag page; release it if no fragment is
// outstanding.
void PagePool::FreeFrag(Machine& m) {
  if (frag_page_ == Memory::kNoPfn) return;
  const Pfn pfn = frag_page_;
  frag_page_ = Memory::kNoPfn;
  if (PpUnref(m, id_, pfn, m.memory.At(pfn), m.profile.BiasMax() - frag_users_) != 0) return;
  ReturnPage(m, pfn);
}

// page_pool_scrub: the alloc cache only on the first scrub (then the strategy's scrub work,
// e.g. the v6.15 unmap of every tracked page), then drain the ring.
void PagePool::Scrub(Machine& m) {
  if (destroy_cnt_ == 0) {
    while (cache_count_ > 0) ReturnPage(m, cache_[--cache_count_]);
    strategy_->OnFirstScrub(m, *this);
  }
  ++destroy_cnt_;
  while (std::optional<Pfn> pfn = RingConsume()) {
    Frame& f = m.memory.At(*pfn);
    if (f.refcount != 1) {
      m.Log(LogLevel::kCrit,
            absl::StrCat("page_pool_empty_ring() page_pool refcnt ", f.refcount, " violation"),
            id_);
    }
    ReturnPage(m, *pfn);
  }
}

// page_pool_release: scrub, strict inflight (WARN when negative), free when 0.
int32_t PagePool::Release(Machine& m) {
  Scrub(m);
  const int32_t inflight = this->inflight();
  m.digest.Mix(DigestTag::kPagePoolRelease, static_cast<uint32_t>(inflight));
  if (inflight < 0) {
    m.Log(LogLevel::kWarn, absl::StrCat("WARNING: Negative(", inflight, ") inflight packet-pages"),
          id_);
    m.Violate(ViolationId::kPP009,
              absl::StrFormat("pool %d inflight is %d (hold %u, release %u): more pages were "
                              "released than the pool ever held; the pool will never be freed "
                              "and is no longer retried",
                              id_, inflight, hold_cnt_, release_cnt_),
              {.pool = id_});
  }
  if (inflight == 0) FreePool(m);
  return inflight;
}

void PagePool::Destroy(Machine& m) {
  if (user_cnt_ <= 0) {
    m.Log(LogLevel::kWarn, "refcount_t: underflow; use-after-free.", id_);
    m.Violate(ViolationId::kPP009,
              absl::StrCat("page_pool_destroy on pool ", id_,
                           " whose user count is already 0 (one destroy too many)"),
              {.pool = id_});
    return;
  }
  m.digest.Mix(DigestTag::kPagePoolDestroy, id_);
  if (--user_cnt_ > 0) return;  // the XDP memory model still holds it (§3.9)
  DisableDirectRecycling(m);
  FreeFrag(m);
  const int32_t inflight = Release(m);
  if (inflight == 0) return;  // freed synchronously: no detach_time is ever visible
  if (inflight > 0 && strategy_->OnDetach(m, *this, inflight)) {
    FreePool(m);
    return;
  }
  // page_pool_detached + deferred release.
  state_ = PoolState::kDetached;
  detach_time_ = m.clock.now() / kSecond;
  m.Notify(EventKind::kPoolChange, id_,
           absl::StrFormat("page-pool-change-ntf id %d: detached with %d inflight", id_, inflight));
  defer_start_ = m.clock.now();
  defer_warn_ = defer_start_ + DEFER_WARN_INTERVAL;
  retry_timer_ = m.clock.Schedule(m.clock.now() + DEFER_TIME, "page_pool_release_retry",
                                  [this, &m] { ReleaseRetry(m); });
}

// page_pool_release_retry, on the workqueue every DEFER_TIME.
void PagePool::ReleaseRetry(Machine& m) {
  retry_timer_ = 0;
  const ExecContext saved = m.ctx;
  m.ctx = ExecContext{CtxKind::kWorkqueue, 0};
  const int32_t inflight = Release(m);
  // Before 43130d02baa1 (6.15; Debian's 6.1.176 and 6.12.95 carry it) the worker stopped only
  // at exactly 0: a negative count was retried, and WARNed, every DEFER_TIME forever.
  const bool again =
      inflight > 0 || (inflight < 0 && !m.profile.release_retry_stops_on_negative);
  if (again) {
    const Nanos waited = m.clock.now() - defer_start_;
    if (inflight > 0 && !stalled_reported_ && waited >= DEFER_WARN_INTERVAL) {
      stalled_reported_ = true;
      m.Violate(ViolationId::kPP012,
                absl::StrFormat("pool %d destroyed %d s ago still has %d pages in flight (%s "
                                "pool: %s)",
                                id_, waited / kSecond, inflight, VisibilityName(visibility()),
                                visibility() == Visibility::kInvisible
                                    ? "the kernel warns every 60 s"
                                    : "the kernel prints nothing; watch inflight and detach-time"),
                {.pool = id_});
    }
    if (m.clock.now() >= defer_warn_ &&
        (visibility() == Visibility::kInvisible || m.profile.stalled_warn_all_pools)) {
      // Before page_pool netlink (6.8) the line had no id (6.1.176 observed: "stalled pool
      // shutdown 2 inflight 60 sec").
      m.Log(LogLevel::kWarn,
            m.profile.stalled_warn_all_pools
                ? absl::StrFormat("page_pool_release_retry() stalled pool shutdown %d inflight "
                                  "%d sec",
                                  inflight, static_cast<int>(waited / kSecond))
                : absl::StrFormat("page_pool_release_retry() stalled pool shutdown: id %u, %d "
                                  "inflight %d sec",
                                  id_, inflight, static_cast<int>(waited / kSecond)),
            id_);
      defer_warn_ = m.clock.now() + DEFER_WARN_INTERVAL;
    }
    retry_timer_ = m.clock.Schedule(m.clock.now() + DEFER_TIME, "page_pool_release_retry",
                                    [this, &m] { ReleaseRetry(m); });
  }
  // Otherwise freed, or (43130d02baa1) an accounting bug that is never retried again (§4.1).
  m.ctx = saved;
}

// __page_pool_destroy: disconnect, unlist (del-ntf), free.
void PagePool::FreePool(Machine& m) {
  state_ = PoolState::kFreed;
  freed_at_ = m.clock.now();
  if (retry_timer_ != 0) {
    m.clock.Cancel(retry_timer_);
    retry_timer_ = 0;
  }
  std::vector<Pfn>().swap(ring_);
  ring_count_ = 0;
  ring_head_ = ring_tail_ = 0;
  if (visibility() != Visibility::kInvisible) {
    m.Notify(EventKind::kPoolDel, id_, absl::StrCat("page-pool-del-ntf id ", id_));
  }
  m.digest.Mix(DigestTag::kPagePoolFree, id_);
}

}  // namespace ppsim::sim
