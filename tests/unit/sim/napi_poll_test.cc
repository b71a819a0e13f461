// NAPI polls and direct recycling by era (docs/kernel/page-pool.md §3.4, §3.8): list_owner is a
// CPU only between ____napi_schedule and napi_complete_done (net/core/dev.c), and which puts may
// use the lockless alloc cache depends on the kernel: the caller's allow_direct alone (<= 6.3),
// the skb path inside the pool's NAPI poll (8c48eea3adf3, 6.4), page_pool_napi_local() for every
// put (4a96a4e807c3, 6.10). The cases marked "oracle" are what Debian's 6.1.176, 6.12.95 and
// 7.3.4 did under tests/oracle/ (sequences alloc-recycle-direct, zz-destroy-napi-enabled,
// destroy-held-dma, unregister-orphan-lo).
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using ::ppsim::sim::testing::Alloc;
using ::ppsim::sim::testing::kNapiCpu0;
using ::ppsim::sim::testing::kProcessCpu0;
using ::ppsim::sim::testing::MakeLab;
using ::ppsim::sim::testing::MustApply;
using ::ppsim::sim::testing::Page;
using ::ppsim::sim::testing::Pool;
using ::ppsim::sim::testing::Put;

// A NIC whose netdev is up (its NAPI enabled) but not polled: no napi_schedule yet.
struct Rig {
  std::unique_ptr<Lab> lab;
  DeviceId dev = 0;
  PoolId pool = 0;
};
Rig MakeRig(const std::string& profile) {
  Rig r;
  r.lab = MakeLab(LabConfig{.profile = profile});
  r.dev = MustApply(*r.lab, op::AddDevice{}).device;
  r.pool = MustApply(*r.lab, op::BindDriver{.device = r.dev}).pools.at(0);
  return r;
}
void Schedule(Rig& r, ExecContext ctx = kNapiCpu0) {
  MustApply(*r.lab, op::NapiSchedule{.device = r.dev, .queue = 0}, ctx);
}
void Complete(Rig& r) {
  MustApply(*r.lab, op::NapiCompleteDone{.device = r.dev, .queue = 0}, kNapiCpu0);
}
// Where a page put with allow_direct=false in softirq on CPU 0 lands.
FrameState PutInSoftirq(Rig& r) {
  const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 1);
  Put(*r.lab, p.at(0), kNapiCpu0, /*allow_direct=*/false);
  return Page(*r.lab, p[0]).state;
}
int WarnLines(Lab& lab, absl::string_view needle) {
  int n = 0;
  for (const Event& e : lab.TakeEvents()) {
    if (e.kind == EventKind::kKernelLog && e.text.find(std::string(needle)) != std::string::npos) ++n;
  }
  return n;
}

// oracle: allow_direct=false from softirq outside any poll went to the ring on 6.12.95 and
// 7.3.4 (alloc-recycle-direct op 9, "@bh"): list_owner is -1 until the NAPI is scheduled.
TEST(NapiPollTest, OutsideAPollASoftirqPutGoesToTheRing) {
  Rig r = MakeRig("v6.12");
  EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolRing);
}

// oracle: inside the poll of the pool's NAPI, allow_direct=false lands in the cache on 6.12.95
// and 7.3.4 (page_pool_napi_local, 4a96a4e807c3) ...
TEST(NapiPollTest, InsideThePollNapiLocalPromotesThePut) {
  for (const char* profile : {"v6.12", "v7.3"}) {
    Rig r = MakeRig(profile);
    Schedule(r);
    EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolCache) << profile;
    Complete(r);
    EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolRing) << profile << ": napi_complete_done";
  }
}

// ... and in the ring on 6.1.176, where only the caller's allow_direct counts.
TEST(NapiPollTest, On61OnlyTheCallersAllowDirectCounts) {
  Rig r = MakeRig("v6.1");
  Schedule(r);
  EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolRing);
  const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 1);
  Put(*r.lab, p.at(0), kNapiCpu0, /*allow_direct=*/true);
  EXPECT_EQ(Page(*r.lab, p[0]).state, FrameState::kPoolCache);
}

// A poll on another CPU is not this CPU's: the pool's consumer may run there.
TEST(NapiPollTest, APollOnAnotherCpuIsNotLocal) {
  Rig r = MakeRig("v6.12");
  Schedule(r, ExecContext{CtxKind::kSoftirq, 1});
  EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolRing);
}

// napi_schedule_prep fails on a disabled NAPI (napi_disable leaves NAPI_STATE_SCHED set) and
// on one already scheduled: nothing changes, and the op says so with value 0.
TEST(NapiPollTest, ScheduleIsANoOpOnADisabledOrAlreadyScheduledNapi) {
  Rig r = MakeRig("v6.12");
  EXPECT_EQ(MustApply(*r.lab, op::NapiSchedule{.device = r.dev}, kNapiCpu0).value, 1u);
  EXPECT_EQ(MustApply(*r.lab, op::NapiSchedule{.device = r.dev},
                      ExecContext{CtxKind::kSoftirq, 1}).value,
            0u)
      << "already scheduled on CPU 0";
  EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolCache) << "still CPU 0's poll";
  MustApply(*r.lab, op::NetdevDown{.device = r.dev});
  EXPECT_EQ(MustApply(*r.lab, op::NapiSchedule{.device = r.dev}, kNapiCpu0).value, 0u);
  EXPECT_EQ(MustApply(*r.lab, op::NapiCompleteDone{.device = r.dev}, kNapiCpu0).value, 0u);
}

TEST(NapiPollTest, ABadQueueNamesTheFieldAndChangesNothing) {
  Rig r = MakeRig("v6.12");
  const uint64_t digest = r.lab->digest();
  absl::StatusOr<OpResult> got =
      r.lab->Apply(Op{kNapiCpu0, op::NapiSchedule{.device = r.dev, .queue = 7}});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("queue: 7"), std::string::npos) << got.status();
  EXPECT_EQ(r.lab->digest(), digest);
}

// 6.4-6.9 (8c48eea3adf3, napi_pp_put_page): the skb path recycles directly when napi_safe (or,
// since 4a36d0180c45, in softirq) and the pool's NAPI is polled here; driver puts are not
// promoted (page_pool_put_page(allow_direct=false) goes to the ring).
TEST(NapiPollTest, V68PromotesOnlyTheSkbPathInsideThePoll) {
  Rig r = MakeRig("v6.8");
  Schedule(r);
  EXPECT_EQ(PutInSoftirq(r), FrameState::kPoolRing) << "a driver put is not promoted";
  const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 2);
  const uint32_t a = MustApply(*r.lab, op::SkbBuild{.frags = {{.page = p.at(0).page}}},
                               kNapiCpu0).skbs.at(0);
  MustApply(*r.lab, op::NapiConsumeSkb{.skb = a, .budget = 64}, kNapiCpu0);
  EXPECT_EQ(Page(*r.lab, p[0]).state, FrameState::kPoolCache) << "napi_safe inside the poll";
  const uint32_t b = MustApply(*r.lab, op::SkbBuild{.frags = {{.page = p.at(1).page}}},
                               kNapiCpu0).skbs.at(0);
  MustApply(*r.lab, op::KfreeSkb{.skb = b}, kProcessCpu0);
  EXPECT_EQ(Page(*r.lab, p[1]).state, FrameState::kPoolRing)
      << "kfree_skb from process context: neither napi_safe nor in softirq";
}

// Before 8c48eea3adf3 the skb path always returned through the ring.
TEST(NapiPollTest, V61SkbPathNeverRecyclesDirectly) {
  Rig r = MakeRig("v6.1");
  Schedule(r);
  const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 1);
  const uint32_t a = MustApply(*r.lab, op::SkbBuild{.frags = {{.page = p.at(0).page}}},
                               kNapiCpu0).skbs.at(0);
  MustApply(*r.lab, op::NapiConsumeSkb{.skb = a, .budget = 64}, kNapiCpu0);
  EXPECT_EQ(Page(*r.lab, p[0]).state, FrameState::kPoolRing);
}

// oracle (zz-destroy-napi-enabled): destroying a pool whose NAPI is enabled, or calling
// page_pool_disable_direct_recycling on it, WARNs on 6.12.95 and 7.3.4 (dd64b232deb8); 6.1 has
// neither the check nor the function.
TEST(NapiPollTest, UnlinkingFromAnEnabledNapiWarns) {
  Rig r = MakeRig("v6.12");
  const NapiId napi = r.lab->GetDevice(r.dev)->napis.at(0);
  const PoolId mine = MustApply(*r.lab, op::PagePoolCreate{.napi = napi}).pool;
  r.lab->TakeEvents();
  MustApply(*r.lab, op::PagePoolDisableDirectRecycling{.pool = mine});
  EXPECT_EQ(WarnLines(*r.lab, "WARNING: page_pool_disable_direct_recycling"), 1);
  const PoolId other = MustApply(*r.lab, op::PagePoolCreate{.napi = napi}).pool;
  MustApply(*r.lab, op::PagePoolDestroy{.pool = other});
  EXPECT_EQ(WarnLines(*r.lab, "WARNING: page_pool_disable_direct_recycling"), 1);

  MustApply(*r.lab, op::NetdevDown{.device = r.dev});
  const PoolId quiet = MustApply(*r.lab, op::PagePoolCreate{.napi = napi}).pool;
  r.lab->TakeEvents();
  MustApply(*r.lab, op::PagePoolDestroy{.pool = quiet});
  EXPECT_EQ(WarnLines(*r.lab, "WARNING"), 0) << "the NAPI is disabled: no WARN";
}

TEST(NapiPollTest, V61HasNoDisableDirectRecyclingAndDestroyDoesNotWarn) {
  Rig r = MakeRig("v6.1");
  const NapiId napi = r.lab->GetDevice(r.dev)->napis.at(0);
  const PoolId mine = MustApply(*r.lab, op::PagePoolCreate{.napi = napi}).pool;
  absl::StatusOr<OpResult> got =
      r.lab->Apply(Op{kProcessCpu0, op::PagePoolDisableDirectRecycling{.pool = mine}});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(got.status().message().find("v6.1"), std::string::npos) << got.status();
  r.lab->TakeEvents();
  MustApply(*r.lab, op::PagePoolDestroy{.pool = mine});
  EXPECT_EQ(WarnLines(*r.lab, "WARNING"), 0);
}

// oracle: 6.1.176 hands whole pages out with pp_frag_count 0 and never touches it on put;
// 6.12.95 and 7.3.4 set pp_ref_count 1 on every page (58d53d8f7da6).
TEST(NapiPollTest, PpRefIsZeroOnWholePagesBefore67) {
  for (const auto& [profile, want] : {std::pair{"v6.1", 0}, std::pair{"v6.12", 1}}) {
    Rig r = MakeRig(profile);
    const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 1);
    EXPECT_EQ(Page(*r.lab, p.at(0)).pp_ref_count, want) << profile;
    Put(*r.lab, p[0], kProcessCpu0);
    EXPECT_EQ(Page(*r.lab, p[0]).state, FrameState::kPoolRing) << profile;
    EXPECT_EQ(Page(*r.lab, p[0]).pp_ref_count, want) << profile;
  }
}

// oracle (unregister-orphan-lo, alloc-recycle-ring): 6.12 reports the napi-id stashed at
// creation, still after destroy; 7.3 has no id before napi_enable (86e25f40aa1e) and reads it
// live, so destroy (which unlinks the NAPI) drops it (67e4bb2ced0f).
TEST(NapiPollTest, NetlinkNapiIdByEra) {
  for (const char* profile : {"v6.12", "v7.3"}) {
    const bool v73 = std::string(profile) == "v7.3";
    auto lab = MakeLab(LabConfig{.profile = profile});
    const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
    MustApply(*lab, op::BindDriver{.device = dev, .up = false});
    const NapiId napi = lab->GetDevice(dev)->napis.at(0);
    const PoolId never_enabled = MustApply(*lab, op::PagePoolCreate{.napi = napi, .netdev = 2}).pool;
    EXPECT_EQ(Pool(*lab, never_enabled).napi_id, v73 ? 0u : napi) << profile;

    MustApply(*lab, op::NetdevUp{.device = dev});
    MustApply(*lab, op::NetdevDown{.device = dev});
    const PoolId pool = MustApply(*lab, op::PagePoolCreate{.napi = napi, .netdev = 2}).pool;
    EXPECT_EQ(Pool(*lab, pool).napi_id, napi) << profile << ": enabled once, the id stays";
    const std::vector<PageRef> held = Alloc(*lab, pool, 1);
    MustApply(*lab, op::PagePoolDestroy{.pool = pool});
    EXPECT_EQ(Pool(*lab, pool).napi_id, v73 ? 0u : napi) << profile << ": after destroy";
  }
}

// oracle (destroy-held-dma): with DMA tracking, destroy unmaps the held pages; 6.12.95 zeroes
// their stored address (ee62ce7a1d90 as backported), 7.3.4 leaves it stale (24ef02f934ee).
TEST(NapiPollTest, HeldPagesDmaAddressAfterDestroyByEra) {
  for (const auto& [profile, zeroed] : {std::pair{"v6.12", true}, std::pair{"v7.3", false}}) {
    auto lab = MakeLab(LabConfig{.profile = profile});
    const DeviceId dev = MustApply(*lab, op::AddDevice{}).device;
    const PoolId pool =
        MustApply(*lab, op::PagePoolCreate{.device = dev, .flags = 1, .pool_size = 64}).pool;
    const std::vector<PageRef> held = Alloc(*lab, pool, 2);
    ASSERT_NE(Page(*lab, held.at(0)).dma_addr, 0u);
    MustApply(*lab, op::PagePoolDestroy{.pool = pool});
    EXPECT_EQ(Page(*lab, held[0]).dma_addr == 0, zeroed) << profile;
    EXPECT_EQ(lab->GetDevice(dev)->mapped, 0u) << profile << ": unmapped either way";
  }
}

// oracle (zz-pp-page-freed-by-put-page): the pool's own reference dropped with put_page. 6.12.95
// and 7.3.4 check freed pages (init_on_alloc turns the checks on, 700d2e9a36b9): "BUG: Bad page
// state ... page_pool leak", the page keeps its signature and is never reused. 6.1.176 frees it
// silently: signature gone, the pool still counting it (the model keeps the frame off its own
// free lists: machine.cc says why).
TEST(NapiPollTest, APoolPageFreedByPutPageByEra) {
  for (const auto& [profile, checked] : {std::pair{"v6.1", false}, std::pair{"v6.12", true}}) {
    Rig r = MakeRig(profile);
    const std::vector<PageRef> p = Alloc(*r.lab, r.pool, 1);
    r.lab->TakeEvents();
    MustApply(*r.lab, op::PutPage{.page = p.at(0).page});
    const PageInfo after = Page(*r.lab, p[0]);
    EXPECT_EQ(after.is_pp, checked) << profile;
    EXPECT_EQ(after.refcount, 0) << profile;
    EXPECT_EQ(WarnLines(*r.lab, "page_pool leak"), checked ? 1 : 0) << profile;
    EXPECT_EQ(r.lab->violation_count(ViolationId::kPP011), 1u)
        << profile << ": the checker reports it either way";
  }
}

}  // namespace
}  // namespace ppsim::sim
