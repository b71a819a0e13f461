// Stack holders (server/sim/stack_holder.h; docs/design.md §3.8, §3.9, §3.10): the IPv4 defrag
// queue freed by ip_expire after net.ipv4.ipfrag_time = 30 s, the per-CPU deferred-free list
// flushed only by net_rx_action on its CPU (skb_defer_free_flush), and the explicit holders
// (socket, qdisc, retransmit). docs/kernel/skb-and-iommu.md §3.2 and docs/kernel/page-pool.md §4.4
// name the first two as the unbounded delays of the seed thread. A socket frees in the reader's
// process context (recvmsg), everything else in softirq; the fault site delay_holder_release keeps
// a defrag skb longer.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/sim/lab_test_peer.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::Alloc;
using testing::BindNic;
using testing::kNapiCpu0;
using testing::MakeLab;
using testing::MustApply;

struct Fixture {
  std::unique_ptr<Lab> lab = MakeLab(LabConfig{.profile = "v6.15"});
  PoolId pool = BindNic(*lab, {.flags = 1}).pool;

  // An RX skb on one pool page, built in softirq on `cpu`.
  std::pair<uint32_t, PageRef> Rx(uint16_t cpu = 0) {
    const PageRef p = Alloc(*lab, pool).at(0);
    const ExecContext ctx{CtxKind::kSoftirq, cpu};
    return {MustApply(*lab, op::SkbBuild{.frags = {{.page = p.page}}}, ctx).skbs.at(0), p};
  }
  uint64_t Hold(uint32_t skb, const std::string& holder, uint32_t cpu) {
    return MustApply(*lab, op::StackHold{.skb = skb, .holder = holder, .cpu = cpu}).value;
  }
  bool Live(uint32_t skb) const { return LabTestPeer::machine(*lab).skbs.contains(skb); }
  // The page's newest event: the recycle (or release) its skb's free caused.
  PageEvent Last(const PageRef& p) const { return testing::Page(*lab, p).history.at(0); }
};

TEST(StackHolderTest, DefragExpiresAtExactly30Seconds) {
  Fixture f;
  auto [skb, page] = f.Rx();
  EXPECT_NE(f.Hold(skb, "defrag", 0), 0u);
  EXPECT_NE(LabTestPeer::machine(*f.lab).skbs.at(skb).holder, 0u);
  const Nanos held_at = f.lab->now();
  Advance(*f.lab, kIpFragTime - 1);
  EXPECT_TRUE(f.Live(skb));
  Advance(*f.lab, 1);
  EXPECT_FALSE(f.Live(skb));
  const PageEvent e = f.Last(page);
  EXPECT_EQ(e.time, held_at + 30 * kSecond);
  EXPECT_EQ(e.ctx, CtxKind::kSoftirq) << "ip_expire is a timer";
  EXPECT_EQ(e.cpu, 0);
  EXPECT_EQ(testing::Page(*f.lab, page).state, FrameState::kPoolCache) << "the NAPI's CPU";
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(StackHolderTest, DelayHolderReleaseKeepsTheDefragSkbLonger) {
  Fixture f;
  MustApply(*f.lab, op::SetFault{.site = "delay_holder_release", .probability = 1.0,
                                 .times = 1, .delay_ns = 5 * kSecond});
  auto [skb, page] = f.Rx();
  f.Hold(skb, "defrag", 0);
  const Nanos held_at = f.lab->now();
  Advance(*f.lab, 35 * kSecond - 1);
  EXPECT_TRUE(f.Live(skb)) << "30 s + 5 s delay";
  Advance(*f.lab, 1);
  EXPECT_FALSE(f.Live(skb));
  EXPECT_EQ(f.Last(page).time, held_at + 35 * kSecond);
}

// An explicit release before the timeout frees it once; the expiry then finds nothing.
TEST(StackHolderTest, DefragReleasedEarlyIsNotFreedAgainAtExpiry) {
  Fixture f;
  auto [skb, page] = f.Rx();
  f.Hold(skb, "defrag", 0);
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "defrag", .cpu = 0}).value, 1u);
  EXPECT_FALSE(f.Live(skb));
  Advance(*f.lab, 60 * kSecond);
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

// skb_attempt_defer_free: an skb allocated on CPU 1 freed from CPU 0 waits on CPU 1's list.
TEST(StackHolderTest, DeferListIsFlushedOnlyByNetRxActionOnItsCpu) {
  Fixture f;
  auto [skb, page] = f.Rx(/*cpu=*/1);
  EXPECT_NE(MustApply(*f.lab, op::SkbDeferFree{.skb = skb}, kNapiCpu0).value, 0u);
  EXPECT_TRUE(f.Live(skb));
  EXPECT_EQ(MustApply(*f.lab, op::NetRxAction{.cpu = 0}, kNapiCpu0).value, 0u);
  Advance(*f.lab, 3600 * kSecond);
  EXPECT_TRUE(f.Live(skb)) << "an idle CPU never flushes its list";
  const ExecContext cpu1{CtxKind::kSoftirq, 1};
  EXPECT_EQ(MustApply(*f.lab, op::NetRxAction{.cpu = 1}, cpu1).value, 1u);
  EXPECT_FALSE(f.Live(skb));
  EXPECT_EQ(f.Last(page).ctx, CtxKind::kSoftirq);
  EXPECT_EQ(f.Last(page).cpu, 1);
  EXPECT_EQ(MustApply(*f.lab, op::NetRxAction{.cpu = 1}, cpu1).value, 0u) << "list empty now";
}

// net/core/skbuff.c:skb_attempt_defer_free, bounded by sysctl_skb_defer_max (64) since
// 39564c3fdc66 (v5.19): CPU 1's list takes 64 skbs freed from CPU 0 at one instant and the 65th
// is freed at once; queuing the 33rd (the count read 32, half the max) kicks CPU 1, whose
// net_rx_action flushes the whole list. From Eric Dumazet's 2025 llist series (7.x) the count is
// raised before the check, so the list holds 63 and the 64th is freed at once
// (msg 20250926151304.1897276-4-edumazet@google.com). Before 68822bdf76f1 (v5.19) there is no
// list: the reader frees the skb.
struct DeferBurst {
  std::vector<uint64_t> values;  // skb_attempt_defer_free's value per skb: 0 = freed at once
  size_t queued = 0;             // on CPU 1's list before the kick's flush runs
  size_t live_after_kick = 0;    // skbs still alive once virtual time moved
  CtxKind flushed_ctx = CtxKind::kProcess;
  uint16_t flushed_cpu = 0;
};

DeferBurst Burst(const std::string& profile, uint32_t n) {
  Fixture f{.lab = MakeLab(LabConfig{.profile = profile})};
  std::vector<std::pair<uint32_t, PageRef>> rx;
  for (uint32_t i = 0; i < n; ++i) rx.push_back(f.Rx(/*cpu=*/1));
  DeferBurst out;
  for (const auto& [skb, page] : rx) {
    out.values.push_back(
        MustApply(*f.lab, op::SkbDeferFree{.skb = skb}, ExecContext{CtxKind::kProcess, 0}).value);
  }
  for (const auto& [skb, page] : rx) out.queued += f.Live(skb) ? 1 : 0;
  Advance(*f.lab, 1);
  for (const auto& [skb, page] : rx) out.live_after_kick += f.Live(skb) ? 1 : 0;
  const PageEvent last = f.Last(rx.front().second);
  out.flushed_ctx = last.ctx;
  out.flushed_cpu = last.cpu;
  EXPECT_EQ(f.lab->violation_total(), 0u);
  return out;
}

TEST(StackHolderTest, DeferListHolds64ThenFreesAtOnceAndIsKickedAtHalf) {
  const DeferBurst b = Burst("v6.12", 70);
  EXPECT_EQ(b.queued, 64u);
  for (size_t i = 0; i < 70; ++i) EXPECT_EQ(b.values[i] != 0, i < 64) << "skb " << i;
  EXPECT_EQ(b.live_after_kick, 0u) << "the kick at 32 made CPU 1 flush its list";
  EXPECT_EQ(b.flushed_ctx, CtxKind::kSoftirq);
  EXPECT_EQ(b.flushed_cpu, 1);
}

TEST(StackHolderTest, DeferListHolds63WhenTheCountIsRaisedFirst) {
  const DeferBurst b = Burst("v7.3", 70);
  EXPECT_EQ(b.queued, 63u);
  for (size_t i = 0; i < 70; ++i) EXPECT_EQ(b.values[i] != 0, i < 63) << "skb " << i;
  EXPECT_EQ(b.live_after_kick, 0u);
}

TEST(StackHolderTest, DeferListBelowHalfIsNotKicked) {
  const DeferBurst b = Burst("v6.12", 32);
  EXPECT_EQ(b.queued, 32u);
  EXPECT_EQ(b.live_after_kick, 32u) << "no kick: an idle CPU 1 never flushes";
  EXPECT_EQ(Burst("v6.12", 33).live_after_kick, 0u) << "the 33rd queued kicks";
}

TEST(StackHolderTest, BeforeSkbAttemptDeferFreeExistedTheReaderFreesTheSkb) {
  const DeferBurst b = Burst("v5.14", 3);
  EXPECT_EQ(b.queued, 0u);
  for (uint64_t v : b.values) EXPECT_EQ(v, 0u);
}

TEST(StackHolderTest, DeferFreeOnTheAllocatingCpuFreesAtOnce) {
  Fixture f;
  auto [skb, page] = f.Rx(/*cpu=*/0);
  EXPECT_EQ(MustApply(*f.lab, op::SkbDeferFree{.skb = skb}, kNapiCpu0).value, 0u);
  EXPECT_FALSE(f.Live(skb));
}

// A socket frees in the reader's process context; qdisc, retransmit, defrag and the defer
// list in softirq on the holder's CPU.
TEST(StackHolderTest, HoldersFreeInTheirKernelContext) {
  Fixture f;
  const struct {
    const char* holder;
    CtxKind ctx;
  } cases[] = {{"socket", CtxKind::kProcess},
               {"qdisc", CtxKind::kSoftirq},
               {"retransmit", CtxKind::kSoftirq},
               {"defrag", CtxKind::kSoftirq},
               {"defer_free", CtxKind::kSoftirq}};
  for (const auto& c : cases) {
    auto [skb, page] = f.Rx();
    f.Hold(skb, c.holder, 2);
    MustApply(*f.lab, op::StackRelease{.holder = c.holder, .cpu = 2});
    EXPECT_FALSE(f.Live(skb)) << c.holder;
    const PageEvent e = f.Last(page);
    EXPECT_EQ(e.ctx, c.ctx) << c.holder;
    EXPECT_EQ(e.cpu, 2) << c.holder;
    EXPECT_EQ(e.kind, PageEventKind::kRecycleRing) << c.holder << ": CPU 2 is not the NAPI's";
  }
  EXPECT_EQ(f.lab->violation_total(), 0u);
}

TEST(StackHolderTest, ReleaseFreesUpToCountOldestFirst) {
  Fixture f;
  std::vector<uint32_t> skbs;
  for (int i = 0; i < 3; ++i) {
    skbs.push_back(f.Rx().first);
    f.Hold(skbs.back(), "socket", 0);
  }
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "socket", .cpu = 0, .count = 2}).value,
            2u);
  EXPECT_FALSE(f.Live(skbs[0]));
  EXPECT_FALSE(f.Live(skbs[1]));
  EXPECT_TRUE(f.Live(skbs[2]));
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "socket", .cpu = 0}).value, 1u);
  EXPECT_FALSE(f.Live(skbs[2]));
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "socket", .cpu = 0}).value, 0u);
}

// Holders are per (kind, CPU): releasing CPU 1's socket queue leaves CPU 0's alone.
TEST(StackHolderTest, HoldersArePerKindAndCpu) {
  Fixture f;
  const uint32_t a = f.Rx().first;
  const uint32_t b = f.Rx().first;
  const uint64_t ha = f.Hold(a, "socket", 0);
  const uint64_t hb = f.Hold(b, "socket", 1);
  EXPECT_NE(ha, hb);
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "qdisc", .cpu = 0}).value, 0u);
  EXPECT_EQ(MustApply(*f.lab, op::StackRelease{.holder = "socket", .cpu = 1}).value, 1u);
  EXPECT_TRUE(f.Live(a));
  EXPECT_FALSE(f.Live(b));
}

TEST(StackHolderTest, RejectsUnknownHoldersAndCpus) {
  Fixture f;
  const uint32_t a = f.Rx().first;
  absl::StatusOr<OpResult> r =
      f.lab->Apply(Op{{}, op::StackHold{.skb = a, .holder = "backlog", .cpu = 0}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("holder: \"backlog\""), absl::string_view::npos);
  EXPECT_NE(r.status().message().find("defer_free"), absl::string_view::npos);
  r = f.lab->Apply(Op{{}, op::StackHold{.skb = a, .holder = "socket", .cpu = 4}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cpu: 4"), absl::string_view::npos) << r.status();
  r = f.lab->Apply(Op{{}, op::NetRxAction{.cpu = 9}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(LabTestPeer::machine(*f.lab).skbs.at(a).holder, 0u) << "nothing was held";
}

}  // namespace
}  // namespace ppsim::sim
