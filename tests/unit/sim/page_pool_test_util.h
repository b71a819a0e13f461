// Shared helpers for the page_pool tests: drive a Lab through ops and read it back through its
// queries, failing the test (not crashing) when an op is rejected.
#ifndef PPSIM_TESTS_UNIT_SIM_PAGE_POOL_TEST_UTIL_H_
#define PPSIM_TESTS_UNIT_SIM_PAGE_POOL_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "server/sim/lab.h"

namespace ppsim::sim::testing {

// Contexts. Queue 0's NAPI runs on CPU 0 once the netdev is up (device.cc NetdevOpen).
inline constexpr ExecContext kProcess{CtxKind::kProcess, 0};
inline constexpr ExecContext kNapiCpu{CtxKind::kSoftirq, 0};
inline constexpr ExecContext kOtherCpu{CtxKind::kSoftirq, 1};

inline std::unique_ptr<Lab> NewLab(LabConfig config = {}) {
  absl::StatusOr<std::unique_ptr<Lab>> lab = Lab::Create(config);
  EXPECT_TRUE(lab.ok()) << lab.status();
  return lab.ok() ? *std::move(lab) : nullptr;
}

// Applies an op that must be accepted.
inline OpResult Do(Lab& lab, OpBody body, ExecContext ctx = kProcess) {
  absl::StatusOr<OpResult> r = lab.Apply(Op{ctx, std::move(body)});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : OpResult{};
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
  return p.state == FrameState::kFree || p.state == FrameState::kFreeTail;
}

inline std::vector<PageRef> Alloc(Lab& lab, PoolId pool, uint32_t count = 1,
                                  ExecContext ctx = kNapiCpu) {
  return Do(lab, op::PagePoolAllocPages{.pool = pool, .count = count}, ctx).pages;
}

inline void Put(Lab& lab, const PageRef& ref, ExecContext ctx, bool allow_direct = false) {
  Do(lab, op::PagePoolPutPage{.page = ref.page, .allow_direct = allow_direct}, ctx);
}

inline void Advance(Lab& lab, Nanos ns) { Do(lab, op::AdvanceTime{.ns = ns}); }

// A device with a driver bound and its netdev up: one pool per RX queue.
struct Nic {
  DeviceId dev = 0;
  IfIndex ifindex = 0;
  PoolId pool = 0;  // RX queue 0's pool
};
inline Nic BindNic(Lab& lab, op::BindDriver bind = {}) {
  Nic nic;
  nic.dev = Do(lab, op::AddDevice{}).device;
  bind.device = nic.dev;
  OpResult r = Do(lab, bind);
  nic.ifindex = r.ifindex;
  if (!r.pools.empty()) nic.pool = r.pools[0];
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

}  // namespace ppsim::sim::testing

#endif  // PPSIM_TESTS_UNIT_SIM_PAGE_POOL_TEST_UTIL_H_
