// Lab: op application, rejection without side effects, trace and digest determinism
// (docs/design.md §3.1: the same config and op sequence give the same digest; Replay reproduces it).
#include "server/sim/lab.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <vector>

namespace ppsim::sim {
namespace {

// Builds an op sequence from generated choices, tracking the handles the lab gave back so most
// ops are meaningful (some are stale on purpose: the model must stay deterministic on buggy
// sequences too).
struct Driver {
  std::unique_ptr<Lab> lab;
  std::vector<PageHandle> held;
  std::vector<PoolId> pools;
  DeviceId dev = 0;

  explicit Driver(const LabConfig& cfg) : lab(*Lab::Create(cfg)) {
    dev = lab->Apply({.body = op::AddDevice{}})->device;
    pools = lab->Apply({.body = op::BindDriver{.device = dev, .rx_queues = 2, .flags = 1}})->pools;
  }

  void Step(uint32_t choice, uint32_t arg) {
    const ExecContext ctx{arg % 2 ? CtxKind::kSoftirq : CtxKind::kProcess,
                          static_cast<uint16_t>(arg % lab->config().cpus)};
    const PoolId pool = pools.empty() ? 1 : pools[arg % pools.size()];
    auto page = [&]() -> PageHandle { return held.empty() ? PageHandle{} : held[arg % held.size()]; };
    auto drop = [&] { if (!held.empty()) held.erase(held.begin() + arg % held.size()); };
    absl::StatusOr<OpResult> r;
    switch (choice % 12) {
      case 0: case 1:
        r = lab->Apply({.ctx = ctx, .body = op::PagePoolAllocPages{.pool = pool, .count = 1 + arg % 8}});
        break;
      case 2: r = lab->Apply({.ctx = ctx, .body = op::PagePoolAllocFrag{.pool = pool, .size = 256 + arg % 3000}}); break;
      case 3: case 4:
        r = lab->Apply({.ctx = ctx, .body = op::NapiPpPutPage{.page = page()}});
        drop();
        break;
      case 5: r = lab->Apply({.ctx = ctx, .body = op::GetPage{.page = page()}}); break;
      case 6: r = lab->Apply({.ctx = ctx, .body = op::PutPage{.page = page()}}); break;
      case 7: r = lab->Apply({.ctx = ctx, .body = op::AdvanceTime{.ns = (arg % 2000) * kMillisecond}}); break;
      case 8: r = lab->Apply({.ctx = ctx, .body = op::PagePoolRefPage{.page = page()}}); break;
      case 9: r = lab->Apply({.ctx = ctx, .body = op::SetFault{.site = "fail_dma_map", .probability = 0.3, .times = 3}}); break;
      case 10: r = lab->Apply({.ctx = ctx, .body = op::DeviceDma{.device = dev, .iova = (arg % 2) ? 0xfffff000 : 0x1000}}); break;
      case 11:
        if (arg % 5 == 0) r = lab->Apply({.ctx = ctx, .body = op::UnbindDriver{.device = dev}});
        else if (arg % 5 == 1) r = lab->Apply({.ctx = ctx, .body = op::RemoveDevice{.device = dev}});
        else r = lab->Apply({.ctx = ctx, .body = op::NetdevDown{.device = dev}});
        break;
    }
    if (r.ok()) {
      for (const PageRef& p : r->pages) held.push_back(p.page);
    }
  }
};

LabConfig SmallLab(uint64_t seed) {
  LabConfig cfg;
  cfg.ram_bytes = uint64_t{256} << 20;
  cfg.seed = seed;
  return cfg;
}

RC_GTEST_PROP(LabDeterminism, SameSeedAndOpsGiveSameDigestAndReplayReproducesIt,
              (uint64_t seed, const std::vector<std::pair<uint32_t, uint32_t>>& steps)) {
  Driver a(SmallLab(seed));
  Driver b(SmallLab(seed));
  for (const auto& [choice, arg] : steps) {
    a.Step(choice, arg);
    b.Step(choice, arg);
  }
  RC_ASSERT(a.lab->digest() == b.lab->digest());
  RC_ASSERT(a.lab->trace().size() == b.lab->trace().size());
  absl::StatusOr<ReplayResult> replay = Replay(SmallLab(seed), a.lab->trace(), a.lab->digest());
  RC_ASSERT(replay.ok());
  RC_ASSERT(replay->matches);
  RC_ASSERT(replay->ops == a.lab->trace().size());
}

TEST(LabDeterminism, DifferentSeedsDivergeWhenFaultsDraw) {
  // fail_dma_map at probability 0.5 draws from the PRNG on every map: seeds change the outcome.
  auto run = [](uint64_t seed) {
    Driver d(SmallLab(seed));
    d.lab->Apply({.body = op::SetFault{.site = "fail_dma_map", .probability = 0.5}}).IgnoreError();
    for (int i = 0; i < 20; ++i) d.Step(0, i);
    return d.lab->digest();
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(LabDeterminism, TamperedTraceDoesNotMatch) {
  Driver d(SmallLab(3));
  for (uint32_t i = 0; i < 50; ++i) d.Step(i * 7, i * 13);
  std::vector<Op> trace = d.lab->trace();
  ASSERT_FALSE(trace.empty());
  trace.push_back({.body = op::AdvanceTime{.ns = 1}});
  absl::StatusOr<ReplayResult> r = Replay(SmallLab(3), trace, d.lab->digest());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->matches);
}

TEST(LabDeterminism, PageHistoryOffChangesNothingButTheExplanations) {
  LabConfig with = SmallLab(5);
  LabConfig without = SmallLab(5);
  without.page_history = false;
  Driver a(with), b(without);
  for (uint32_t i = 0; i < 400; ++i) {
    a.Step(i * 7 + i / 3, i * 13 + 1);
    b.Step(i * 7 + i / 3, i * 13 + 1);
  }
  ASSERT_GT(a.lab->violation_total(), 0u) << "the sequence should break some rule";
  EXPECT_EQ(a.lab->digest(), b.lab->digest());
  EXPECT_EQ(a.lab->violation_total(), b.lab->violation_total());
  size_t with_page = 0;
  for (size_t i = 0; i < a.lab->violations().size(); ++i) {
    if (!a.lab->violations()[i].pfn) continue;
    ++with_page;
    EXPECT_FALSE(a.lab->violations()[i].history.empty());
    EXPECT_TRUE(b.lab->violations()[i].history.empty());
  }
  EXPECT_GT(with_page, 0u);
}

TEST(Lab, RejectedOpChangesNothing) {
  Driver d(SmallLab(1));
  d.Step(0, 0);
  const uint64_t digest = d.lab->digest();
  const size_t ops = d.lab->trace().size();
  const Nanos now = d.lab->now();
  absl::StatusOr<OpResult> r = d.lab->Apply({.body = op::PagePoolAllocPages{.pool = 99}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "pool: pool 99 does not exist");
  r = d.lab->Apply({.body = op::PagePoolAllocPages{.pool = 1, .count = 0}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("count: 0"), absl::string_view::npos);
  r = d.lab->Apply({.ctx = {CtxKind::kSoftirq, 99}, .body = op::AdvanceTime{.ns = 5}});
  EXPECT_NE(r.status().message().find("ctx.cpu: 99"), absl::string_view::npos);
  r = d.lab->Apply({.body = op::SetFault{.site = "fail_everything"}});
  EXPECT_NE(r.status().message().find("fail_everything"), absl::string_view::npos);
  EXPECT_EQ(d.lab->digest(), digest);
  EXPECT_EQ(d.lab->trace().size(), ops);
  EXPECT_EQ(d.lab->now(), now);
}

TEST(Lab, OpToStringNamesKernelOp) {
  const std::string s = OpToString({.ctx = {CtxKind::kSoftirq, 2},
                                    .body = op::PagePoolPutPage{.pool = 3, .page = {0x10, 2}}});
  EXPECT_EQ(s, "page_pool_put_page @softirq:2 pool=3 page=0x10/2 dma_sync_size=-1 allow_direct=0");
}

}  // namespace
}  // namespace ppsim::sim
