// `scan`, Yunsheng Lin's RFC v4 "scan all memory on destroy" (docs/kernel/page-pool.md §5b; msg
// 20241120103456.396577-3-linyunsheng@huawei.com): destroy walks every pfn under the
// BH-disabling destroy_lock, unmaps the pool's pages and clears dma_map, so late returns skip
// the unmap. The hold is O(RAM): Jesper measured ~0.39 s for 384 GB (100,592,572 pages,
// msg 17a24d69-7bf0-412c-a32a-b25d82bb4159@kernel.org); extrapolated to 12.3 TB that is
// ~12.5 s at his rate and ~53 s at Yunsheng's. PP013 (docs/design.md §3.11): warning from 10 ms,
// crash (soft lockup) from 20 s.
#include "gtest/gtest.h"
#include "tests/unit/sim/lab_harness.h"

namespace ppsim::sim {
namespace {

using testing::Advance;
using testing::InflightStory;
using testing::NextOpIndex;
using testing::PageEventSince;
using testing::StartInflightStory;
using testing::ViolationsOf;

constexpr uint64_t kGiB = uint64_t{1} << 30;
// 12.3e12 bytes rounded down to a page multiple (LabConfig needs whole pages).
constexpr uint64_t k12_3TB = uint64_t{12'300'000'000'000} / kPageSize * kPageSize;

InflightStory StartScan(uint64_t ram_bytes, CostModel cost = {}) {
  return StartInflightStory(LabConfig{.ram_bytes = ram_bytes, .iommu_model = IommuModel::kArmSmmu, .profile = "v6.8", .cost = cost},
                            "scan");
}

// The one PP013 the destroy raised.
const Violation* BhViolation(const Lab& lab) {
  std::vector<const Violation*> v = ViolationsOf(lab, ViolationId::kPP013);
  EXPECT_EQ(v.size(), 1u);
  return v.empty() ? nullptr : v[0];
}

// §5b Jesper's measurement: 384 GB → ~0.39 s with BH disabled, a latency warning.
TEST(ScanStrategyTest, Ram384GiBHoldsBhDisabledLockForAbout390ms) {
  InflightStory s = StartScan(384 * kGiB);
  const Nanos before = s.lab->now();
  s.Unbind();
  const Nanos hold = s.Pool().costs.max_lock_hold_ns;
  EXPECT_NEAR(static_cast<double>(hold), 0.39e9, 0.039e9);
  EXPECT_GE(s.lab->now() - before, hold) << "the hold is charged in virtual time";
  const Violation* v = BhViolation(*s.lab);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->severity, Severity::kWarning);
  EXPECT_EQ(v->pool, s.pool);
  EXPECT_EQ(v->strategy, "scan");
}

// "Cost, time: O(total RAM pages), independent of how many pages are in flight": 96× the RAM
// is 96× the hold, for the same single page in flight.
TEST(ScanStrategyTest, HoldIsProportionalToRam) {
  InflightStory small = StartScan(4 * kGiB);
  small.Unbind();
  InflightStory big = StartScan(384 * kGiB);
  big.Unbind();
  const double ratio = static_cast<double>(big.Pool().costs.max_lock_hold_ns) /
                       static_cast<double>(small.Pool().costs.max_lock_hold_ns);
  EXPECT_NEAR(ratio, 96.0, 0.96);
  // 4 GiB stays under the 10 ms latency threshold.
  EXPECT_LT(small.Pool().costs.max_lock_hold_ns, 10 * kMillisecond);
  EXPECT_EQ(small.lab->violation_count(ViolationId::kPP013), 0u);
}

// 12.3 TB at Jesper's rate: ~12.5 s, past the latency threshold but short of the 20 s soft
// lockup, so PP013 stays a warning.
TEST(ScanStrategyTest, Ram12_3TBIsAWarningAtJespersRate) {
  InflightStory s = StartScan(k12_3TB);
  s.Unbind();
  const Nanos hold = s.Pool().costs.max_lock_hold_ns;
  EXPECT_NEAR(static_cast<double>(hold), 12.5e9, 1.25e9);
  EXPECT_LT(hold, 20 * kSecond);
  const Violation* v = BhViolation(*s.lab);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->severity, Severity::kWarning);
}

// 12.3 TB at Yunsheng's arm64 rate (the `arm64` preset, ~17.7 ns per pfn): ~53 s, a soft
// lockup. The seed thread's "up to about 10 secs" / "spinning of 12 secs" (seed 000, Yunsheng
// Lin 2024-11-20) is the x86 rate's figure; at the arm64 rate the same machine crosses the 20 s
// line (docs/kernel/page-pool.md §5b).
TEST(ScanStrategyTest, Ram12_3TBIsACrashAtYunshengsRate) {
  InflightStory s = StartScan(k12_3TB, CostModel{.scan_ns_per_pfn = kScanNsPerPfnArm64});
  s.Unbind();
  const Nanos hold = s.Pool().costs.max_lock_hold_ns;
  EXPECT_GT(hold, 20 * kSecond);
  EXPECT_NEAR(static_cast<double>(hold), 53e9, 5.3e9);
  const Violation* v = BhViolation(*s.lab);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->severity, Severity::kCrash);
  EXPECT_NE(v->message.find("soft lockup"), std::string::npos) << v->message;
}

// Both measured rates are presets, found by name (server/sim/lab_config.h): Jesper's x86 rate,
// 0.39 s for 100,592,572 pfns, is the default; Yunsheng's arm64 rate, 1.3 s for 300 GB, is
// about 4.6 times slower (docs/kernel/page-pool.md §5b).
TEST(ScanStrategyTest, BothMeasuredScanRatesArePresets) {
  EXPECT_EQ(CostModel{}.scan_ns_per_pfn, kScanNsPerPfnX86);
  EXPECT_NEAR(*FindScanRatePreset("x86"), 3.877, 0.001);
  EXPECT_NEAR(*FindScanRatePreset("arm64"), 17.75, 0.01);
  EXPECT_NEAR(kScanNsPerPfnX86 * 100'592'572, 0.39e9, 1e3);
  EXPECT_NEAR(kScanNsPerPfnArm64 * (300e9 / kPageSize), 1.3e9, 1e3);
  EXPECT_FALSE(FindScanRatePreset("sparc").ok());
}

// The scan unmaps the held page inside page_pool_destroy, before the unbind leak check, and
// clears dma_map: the late return after device_del skips the unmap (§5b "Afterwards
// pool->dma_map is cleared, so later returns skip the unmap").
TEST(ScanStrategyTest, LateReturnAfterRemovalSkipsTheUnmap) {
  InflightStory s = StartScan(4 * kGiB);
  s.Unbind();
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP005), 0u);
  EXPECT_EQ(s.Device().mapped, 0u);
  EXPECT_EQ(s.Pool().costs.destroy_unmaps, 1u);
  s.Remove();
  const uint64_t return_op = NextOpIndex(*s.lab);
  s.ReturnHeld();
  Advance(*s.lab, 2 * kSecond);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP001), 0u);
  EXPECT_EQ(s.lab->violation_count(ViolationId::kPP002), 0u);
  EXPECT_FALSE(PageEventSince(*s.lab, s.held.page.pfn, PageEventKind::kDmaUnmap, return_op));
  EXPECT_EQ(s.Pool().state, PoolState::kFreed);
}

}  // namespace
}  // namespace ppsim::sim
