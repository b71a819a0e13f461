// Op handlers: time, the page allocator, faults, liveness.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/lab.h"

namespace ppsim::sim {

absl::StatusOr<OpResult> Lab::Do(const op::AdvanceTime& o) {
  constexpr Nanos kMax = Nanos{30} * 24 * 3600 * kSecond;
  if (o.ns < 0 || o.ns > kMax) {
    return absl::InvalidArgumentError(absl::StrCat("ns: ", o.ns, " must be in 0..", kMax, " (30 days)"));
  }
  m_->op_cost_ns += o.ns;
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::SetMemoryPressure& o) {
  m_->memory_pressure = o.on;
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::AllocPage& o) {
  if (o.nid < -1 || o.nid >= static_cast<int32_t>(m_->memory.numa_nodes())) {
    return absl::InvalidArgumentError(absl::StrCat("nid: ", o.nid, " must be -1 or 0..",
                                                   m_->memory.numa_nodes() - 1));
  }
  if (o.order > Memory::kMaxOrder) {
    return absl::InvalidArgumentError(absl::StrCat("order: ", o.order, " exceeds MAX_PAGE_ORDER ",
                                                   Memory::kMaxOrder));
  }
  OpResult r;
  if (std::optional<Pfn> pfn = m_->AllocPages(o.nid, o.order, {.ctx = m_->ctx})) {
    r.pages.push_back(Ref(*pfn));
  }
  return r;
}

absl::StatusOr<OpResult> Lab::Do(const op::GetPage& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  Frame* f = m_->ResolvePage(o.page, "get_page");
  if (f == nullptr) return OpResult{};
  // A reference taken on a page idle in the pool comes from someone who kept a pointer after
  // the pool got the page back: the late get_page after pp-last (docs/kernel/skb-and-iommu.md
  // §8.9).
  if ((f->state == FrameState::kPoolCache || f->state == FrameState::kPoolRing) &&
      f->generation == o.page.generation) {
    m_->Violate(ViolationId::kPP007,
                absl::StrFormat("get_page on pfn 0x%x while it sits recycled in pool %d's %s: "
                                "the caller kept a pointer without a counted reference",
                                o.page.pfn, f->pool,
                                f->state == FrameState::kPoolCache ? "alloc cache" : "ptr_ring"),
                {.pfn = o.page.pfn, .pool = f->pool});
  }
  m_->GetPage(o.page.pfn, *f);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::PutPage& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  Frame* f = m_->ResolvePage(o.page, "put_page");
  if (f == nullptr) return OpResult{};
  m_->PutPage(o.page.pfn, *f);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::SetFault& o) {
  absl::StatusOr<FaultSite> site = ParseFaultSite(o.site);
  if (!site.ok()) return site.status();
  FaultSpec spec;
  spec.probability = o.probability;
  spec.interval = o.interval;
  spec.times = o.times;
  spec.space = o.space;
  spec.delay_ns = o.delay_ns;
  spec.filter.pool = o.filter_pool;
  spec.filter.device = o.filter_device;
  if (!o.filter_ctx.empty()) {
    bool found = false;
    for (CtxKind k : {CtxKind::kProcess, CtxKind::kSoftirq, CtxKind::kWorkqueue}) {
      if (CtxKindName(k) == o.filter_ctx) {
        spec.filter.ctx = k;
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter_ctx: \"", o.filter_ctx, "\"; expected process, softirq or workqueue"));
    }
  }
  if (absl::Status s = spec.Validate(*site); !s.ok()) return s;
  m_->faults.Set(*site, spec);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::ClearFaults& o) {
  if (o.site.empty()) {
    m_->faults.ClearAll();
    return OpResult{};
  }
  absl::StatusOr<FaultSite> site = ParseFaultSite(o.site);
  if (!site.ok()) return site.status();
  m_->faults.Clear(*site);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::LivenessCheck&) {
  for (auto& [id, pool] : m_->pools) {
    if (pool->state() == PoolState::kFreed || pool->inflight() <= 0) continue;
    m_->Violate(ViolationId::kPP017,
                absl::StrFormat("pool %d (%s, %s) still has %d pages in flight when the liveness "
                                "phase ended",
                                id, PoolStateName(pool->state()), pool->strategy().name(),
                                pool->inflight()),
                {.pool = id});
  }
  return OpResult{};
}

}  // namespace ppsim::sim
