// Shared helpers for the sim unit tests: apply ops that must be accepted, read the lab back
// through its queries, and set up the
// "unbind with a page in flight" story every teardown strategy is judged by
// (docs/kernel/page-pool.md §4.3–§4.4; docs/design.md §3.6).
#ifndef PPSIM_TESTS_UNIT_SIM_LAB_HARNESS_H_
#define PPSIM_TESTS_UNIT_SIM_LAB_HARNESS_H_

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "server/sim/lab.h"

namespace ppsim::sim::testing {

// NAPI of RX queue 0 runs on CPU 0 (device.cc NetdevOpen: queue % cpus).
inline constexpr ExecContext kNapiCpu0{CtxKind::kSoftirq, 0};
inline constexpr ExecContext kProcessCpu0{CtxKind::kProcess, 0};
inline constexpr ExecContext kOtherCpu{CtxKind::kSoftirq, 1};

inline std::unique_ptr<Lab> MakeLab(const LabConfig& config = {}) {
  absl::StatusOr<std::unique_ptr<Lab>> lab = Lab::Create(config);
  EXPECT_TRUE(lab.ok()) << lab.status();
  return lab.ok() ? *std::move(lab) : nullptr;
}

// Applies an op the lab must accept; a rejection fails the test and yields an empty result.
inline OpResult MustApply(Lab& lab, OpBody body, ExecContext ctx = kProcessCpu0) {
  const Op op{ctx, std::move(body)};
  absl::StatusOr<OpResult> r = lab.Apply(op);
  EXPECT_TRUE(r.ok()) << OpToString(op) << ": " << r.status();
  return r.ok() ? *std::move(r) : OpResult{};
}

inline void Advance(Lab& lab, Nanos ns) { MustApply(lab, op::AdvanceTime{.ns = ns}); }

// The index the next applied op will get in the trace (Violation::op_index, PageEvent::op_index).
inline uint64_t NextOpIndex(const Lab& lab) { return lab.trace().size(); }

// Whether the page has an event of `kind` recorded by op `op_index` or later.
inline bool PageEventSince(const Lab& lab, Pfn pfn, PageEventKind kind, uint64_t op_index) {
  absl::StatusOr<PageInfo> page = lab.GetPage(pfn);
  EXPECT_TRUE(page.ok()) << page.status();
  if (!page.ok()) return false;
  return std::any_of(page->history.begin(), page->history.end(), [&](const PageEvent& e) {
    return e.kind == kind && e.op_index >= op_index;
  });
}

// Free in the buddy allocator: a free block's head, or merged into a larger free block.
inline bool IsFree(FrameState s) { return s == FrameState::kFree || s == FrameState::kFreeTail; }

inline std::vector<const Violation*> ViolationsOf(const Lab& lab, ViolationId id) {
  std::vector<const Violation*> out;
  for (const Violation& v : lab.violations()) {
    if (v.id == id) out.push_back(&v);
  }
  return out;
}

inline PoolInfo Pool(const Lab& lab, PoolId id) {
  absl::StatusOr<PoolInfo> p = lab.GetPool(id);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : PoolInfo{};
}

inline PageInfo Page(const Lab& lab, const PageRef& ref) {
  absl::StatusOr<PageInfo> p = lab.GetPage(ref.page.pfn);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : PageInfo{};
}

inline bool InBuddy(const PageInfo& p) {
  return IsFree(p.state);
}

inline std::vector<PageRef> Alloc(Lab& lab, PoolId pool, uint32_t count = 1,
                                  ExecContext ctx = kNapiCpu0) {
  return MustApply(lab, op::PagePoolAllocPages{.pool = pool, .count = count}, ctx).pages;
}

inline void Put(Lab& lab, const PageRef& ref, ExecContext ctx, bool allow_direct = false) {
  MustApply(lab, op::PagePoolPutPage{.page = ref.page, .allow_direct = allow_direct}, ctx);
}

// A device with a driver bound and its netdev up: one pool per RX queue. RX queue 0's NAPI
// poll is running on CPU 0 (napi_schedule, never completed), so an op in kNapiCpu0 runs inside
// it, where page_pool_napi_local() holds (docs/kernel/page-pool.md §3.4).
struct Nic {
  DeviceId dev = 0;
  IfIndex ifindex = 0;
  PoolId pool = 0;  // RX queue 0's pool
};
inline Nic BindNic(Lab& lab, op::BindDriver bind = {}) {
  Nic nic;
  nic.dev = MustApply(lab, op::AddDevice{}).device;
  bind.device = nic.dev;
  OpResult r = MustApply(lab, bind);
  nic.ifindex = r.ifindex;
  if (!r.pools.empty()) {
    nic.pool = r.pools[0];
    MustApply(lab, op::NapiSchedule{.device = nic.dev, .queue = 0}, kNapiCpu0);
  }
  return nic;
}

// Events of `kind` (for `pool`, 0 = any) whose text contains `needle`.
inline int CountEvents(const std::vector<Event>& events, EventKind kind, PoolId pool = 0,
                       absl::string_view needle = "") {
  int n = 0;
  for (const Event& e : events) {
    if (e.kind == kind && (pool == 0 || e.pool == pool) && absl::StrContains(e.text, needle)) ++n;
  }
  return n;
}

inline void Drain(Lab& lab, std::vector<Event>& into) {
  for (Event& e : lab.TakeEvents()) into.push_back(std::move(e));
}

// Pages of the pool that are out with a user: inflight counts pages sitting in the pool's own
// cache and ring too (docs/kernel/page-pool.md §1.4), so "did every page come back" subtracts them.
inline int64_t PagesOutsidePool(const PoolInfo& p) {
  return int64_t{p.inflight_strict} - p.cache_count - p.ring_count;
}

// A device with PP_FLAG_DMA_MAP pools (bind_driver flags=1), one page allocated in softirq on
// the NAPI's CPU and held by the test, as a socket or the defrag queue would hold it.
struct InflightStory {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId pool = 0;
  PageRef held;

  // The driver's remove: netdev stop (page_pool_destroy), unregister, dma-debug leak check.
  void Unbind() { MustApply(*lab, op::UnbindDriver{.device = dev}); }
  void Remove() { MustApply(*lab, op::RemoveDevice{.device = dev}); }
  void SurpriseRemove() { MustApply(*lab, op::SurpriseRemove{.device = dev}); }
  // The holder frees its skb: the skb free path for the frag (napi_pp_put_page).
  void ReturnHeld() { MustApply(*lab, op::NapiPpPutPage{.page = held.page}, kNapiCpu0); }
  PoolInfo Pool() const { return *lab->GetPool(pool); }
  DeviceInfo Device() const { return *lab->GetDevice(dev); }
};

inline InflightStory StartInflightStory(LabConfig config, std::string strategy,
                                        uint32_t pool_size = 0) {
  InflightStory s;
  s.lab = MakeLab(config);
  if (s.lab == nullptr) return s;
  s.dev = MustApply(*s.lab, op::AddDevice{}).device;
  const OpResult bound = MustApply(
      *s.lab, op::BindDriver{.device = s.dev, .flags = 1, .pool_size = pool_size,
                             .strategy = std::move(strategy)});
  EXPECT_EQ(bound.pools.size(), 1u);
  if (bound.pools.empty()) return s;
  s.pool = bound.pools[0];
  const OpResult got = MustApply(*s.lab, op::PagePoolAllocPages{.pool = s.pool}, kNapiCpu0);
  EXPECT_EQ(got.pages.size(), 1u);
  if (!got.pages.empty()) s.held = got.pages[0];
  EXPECT_NE(s.held.dma_addr, 0u) << "PP_FLAG_DMA_MAP pages carry their mapping";
  return s;
}

}  // namespace ppsim::sim::testing

#endif  // PPSIM_TESTS_UNIT_SIM_LAB_HARNESS_H_
