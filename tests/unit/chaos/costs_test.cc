// client/chaos/costs: the per-run teardown costs `compare` tabulates, from the pools a lab
// reports. First on hand-made pool records (the arithmetic and the -1 rules), then end to end
// on an embedded lab, so that the model's timings reach the client through the proto.
#include "client/chaos/costs.h"

#include <gtest/gtest.h>

#include "client/chaos/bindings.h"
#include "client/chaos/lab_target.h"
#include "client/lib/op_line.h"

namespace ppsim::chaos {
namespace {

v1::PoolInfo DetachedPool(int64_t detached, std::optional<int64_t> freed) {
  v1::PoolInfo p;
  p.set_detached_at_ns(detached);
  if (freed) p.set_freed_at_ns(*freed);
  return p;
}

TEST(CostsTest, NoPoolsCostNothing) {
  const TeardownCosts c = CostsOf(LabFacts{});
  EXPECT_EQ(c.drain_time_ns, 0) << "nothing had to drain";
  EXPECT_EQ(c.removal_latency_ns, -1) << "no removal";
  EXPECT_EQ(c.max_lock_hold_ns, 0);
  EXPECT_EQ(c.memory_overhead_bytes, 0u);
  EXPECT_EQ(c.strategy_host_ns, 0u);
}

TEST(CostsTest, DrainIsTheLongestDetachToFree) {
  LabFacts f;
  f.pools.push_back(DetachedPool(1'000, 3'000));
  f.pools.push_back(DetachedPool(2'000, 9'000));
  f.pools.emplace_back();  // never detached: freed at destroy or still alive
  EXPECT_EQ(CostsOf(f).drain_time_ns, 7'000);
}

TEST(CostsTest, ADetachedPoolThatNeverDrainedMakesTheDrainNever) {
  LabFacts f;
  f.pools.push_back(DetachedPool(1'000, 3'000));
  f.pools.push_back(DetachedPool(2'000, std::nullopt));
  EXPECT_EQ(CostsOf(f).drain_time_ns, -1);
}

TEST(CostsTest, LockHoldIsTheLongestRemovalTheLongestMemoryAndHostTimeAdd) {
  LabFacts f;
  for (int i = 1; i <= 2; ++i) {
    v1::PoolInfo p;
    p.mutable_costs()->set_max_lock_hold_ns(i * 100);
    p.mutable_costs()->set_peak_memory_bytes(i * 576);
    p.mutable_costs()->set_memory_bytes(1);  // current, not peak: ignored
    p.mutable_costs()->set_host_ns(i * 10);
    p.set_device_removal_wait_ns(i * 50'000'000);
    f.pools.push_back(p);
  }
  const TeardownCosts c = CostsOf(f);
  EXPECT_EQ(c.max_lock_hold_ns, 200);
  EXPECT_EQ(c.removal_latency_ns, 100'000'000);
  EXPECT_EQ(c.memory_overhead_bytes, 3u * 576);
  EXPECT_EQ(c.strategy_host_ns, 30u);
}

TEST(CostsTest, Formats) {
  EXPECT_EQ(FormatDrain(-1), "never");
  EXPECT_EQ(FormatRemoval(-1), "-");
  EXPECT_EQ(FormatNanos(0), "0");
  EXPECT_EQ(FormatNanos(30'000'000'000), "30.000 s");
  EXPECT_EQ(FormatNanos(50'000'000), "50.0 ms");
  EXPECT_EQ(FormatNanos(1'500), "1.5 us");
  EXPECT_EQ(FormatBytes(576), "576 B");
  EXPECT_EQ(FormatBytes(8192), "8.0 KiB");
}

// The model end to end: the unbind-inflight story on a fresh embedded lab — a page held by
// the test while the driver unbinds and the device is removed, returned `hold` later — and
// the costs read back through LabFacts (proto PoolInfo).
TeardownCosts UnbindInflight(const std::string& strategy, const std::string& iommu,
                             const std::string& profile, const std::string& hold) {
  v1::LabConfig config;
  config.set_profile(profile);
  config.set_iommu_model(iommu);
  config.set_default_strategy(strategy);
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<std::unique_ptr<LabSession>> lab = target->NewLab("costs", config);
  EXPECT_TRUE(lab.ok()) << lab.status();
  if (!lab.ok()) return {};
  Bindings names;
  const std::pair<std::string, std::string> steps[] = {
      {"add_device", "dev"},
      {"bind_driver device=$dev flags=1", "nic"},
      {"page_pool_alloc_pages pool=$nic.pools[0] @softirq:0", "held"},
      {"unbind_driver device=$dev", ""},
      {"remove_device device=$dev", ""},
      {"advance_time ns=" + hold, ""},
      {"napi_pp_put_page page=$held @softirq:0", ""},
      {"advance_time ns=2s", ""},
  };
  for (const auto& [text, as] : steps) {
    absl::StatusOr<std::string> line = names.Resolve(text);
    EXPECT_TRUE(line.ok()) << text << ": " << line.status();
    if (!line.ok()) return {};
    absl::StatusOr<v1::Op> op = client::ParseOpLine(*line);
    EXPECT_TRUE(op.ok()) << *line << ": " << op.status();
    if (!op.ok()) return {};
    absl::StatusOr<Applied> a = (*lab)->Apply(*op);
    EXPECT_TRUE(a.ok() && a->rejected.ok()) << *line;
    if (!a.ok()) return {};
    if (!as.empty()) names.Bind(as, a->result);
  }
  absl::StatusOr<LabFacts> facts = (*lab)->Facts();
  EXPECT_TRUE(facts.ok()) << facts.status();
  return facts.ok() ? CostsOf(*facts) : TeardownCosts{};
}

constexpr int64_t kSecond = 1'000'000'000;

// Legacy (docs/kernel/page-pool.md §4.3, §5a): the pool detaches at the unbind (t=0) and retries
// every second; the page comes back at t=30 s, just after that second's retry ran, goes to the
// ptr_ring, and the retry at 31 s releases it and frees the pool: 30 s of hold plus the 1 s
// retry granularity. Removal does not wait; legacy tracks nothing and holds no lock.
TEST(CostsTest, LegacyDrainIsTheHoldPlusTheRetryTick) {
  const TeardownCosts c = UnbindInflight("legacy", "intel", "v6.15", "30s");
  EXPECT_EQ(c.drain_time_ns, 31 * kSecond);
  EXPECT_EQ(c.removal_latency_ns, 0);
  EXPECT_EQ(c.max_lock_hold_ns, 0);
  EXPECT_EQ(c.memory_overhead_bytes, 0u);
}

// tce-wait (§5e): device removal polls every 50 ms until the TCE is unmapped, which happens
// when the pool's retry tick releases the page (31 s, as above): the removal waits ~31 s.
TEST(CostsTest, TceWaitRemovalWaitsForTheHolder) {
  const TeardownCosts c = UnbindInflight("tce-wait", "ppc-ddw", "v6.8", "30s");
  EXPECT_GE(c.removal_latency_ns, 31 * kSecond);
  EXPECT_LE(c.removal_latency_ns, 31 * kSecond + 50'000'000);
  EXPECT_EQ(c.removal_latency_ns % 50'000'000, 0) << "removal finishes on a poll";
  EXPECT_EQ(c.drain_time_ns, 31 * kSecond);
}

// scan (§5b): the destroy-time walk holds a BH-disabling lock for the cost model's per-pfn
// price times the lab's pages; it is the only strategy with a lock hold.
TEST(CostsTest, ScanHoldsTheLockAndTheOthersDoNot) {
  EXPECT_GT(UnbindInflight("scan", "intel", "v6.15", "1s").max_lock_hold_ns, 0);
  EXPECT_EQ(UnbindInflight("dma-tracking", "intel", "v6.15", "1s").max_lock_hold_ns, 0);
}

// dma-tracking (§5d) keeps an xarray of mapped pages (576 bytes per 64-slot node) and unmaps
// them all at the destroy; items (§5c) preallocates page-sized item blocks per pool.
TEST(CostsTest, TrackingStrategiesReportTheirMemory) {
  EXPECT_EQ(UnbindInflight("dma-tracking", "intel", "v6.15", "1s").memory_overhead_bytes, 576u)
      << "the first allocation's refill maps 64 pages (PP_ALLOC_CACHE_REFILL): ids 1..64, one "
         "node";
  // 2 * ring (1024) + PP_ALLOC_CACHE_SIZE (128) + PAGE_POOL_MIN_INFLIGHT_ITEMS (512) = 2688
  // items of 16 bytes, 256 per 4 KiB block: 11 blocks.
  EXPECT_EQ(UnbindInflight("items", "intel", "v6.15", "1s").memory_overhead_bytes, 11u * 4096);
}

}  // namespace
}  // namespace ppsim::chaos
