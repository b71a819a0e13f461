// `scan`: Yunsheng Lin's RFC v4, "scan all memory on destroy" (docs/kernel/page-pool.md §5b;
// 20241120103456.396577-3-linyunsheng@huawei.com). When destroy finds pages in flight it takes
// a BH-disabling spinlock and walks every pfn of every populated zone, unmapping each page that
// is online, referenced, signed and owned by this pool, then clears the pool's dma_map so late
// returns skip the unmap. This models the CONFIG_DEBUG_NET variant, which always walks all of
// memory. The lock is held for O(RAM): the cost model's per-pfn price times the lab's pages
// (0.39 s for 384 GB at Jesper's rate). PP013 reports the hold: a latency warning from 10 ms,
// a soft lockup (crash) from 20 s.
#include "absl/strings/str_format.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

constexpr Nanos kBhLatencyWarn = 10 * kMillisecond;
constexpr Nanos kSoftLockup = 20 * kSecond;  // watchdog_thresh 10 s × 2

class ScanStrategy final : public TeardownStrategy {
 public:
  absl::string_view name() const override { return "scan"; }
  absl::Status OnEnter(Machine&, PagePool&, Pfn, Frame&, bool) override {
    return absl::OkStatus();
  }
  bool ShouldUnmapOnRelease(Machine&, PagePool&, Pfn, Frame&) override { return true; }

  bool OnDetach(Machine& m, PagePool& pool, int32_t inflight) override {
    if (!pool.dma_map()) return false;
    const uint64_t start = HostNanos();
    uint32_t unmapped = 0;
    // Frames of sections never materialised were never allocated: no page of this pool there.
    m.memory.ForEachMaterialisedFrame([&](Pfn pfn, Frame& f) {
      if (f.pool != pool.id() || f.refcount <= 0 || !f.pool_owned() || !m.IsPpPage(f) ||
          f.dma_addr == 0) {
        return;
      }
      UnmapForTeardown(m, pool, pfn, f);
      f.dma_addr = 0;
      ++unmapped;
    });
    costs_.destroy_unmaps += unmapped;
    if (static_cast<int32_t>(unmapped) != inflight) {
      m.Log(LogLevel::kWarn,
            absl::StrFormat("WARNING: page_pool(%u): unmapped(%u) != inflight pages(%d)",
                            pool.id(), unmapped, inflight),
            pool.id());
    }
    pool.ClearDmaMap();
    const Nanos hold = static_cast<Nanos>(m.config.cost.scan_ns_per_pfn *
                                          static_cast<double>(m.memory.num_pages()));
    Charge(m, hold);
    costs_.max_lock_hold_ns = std::max(costs_.max_lock_hold_ns, hold);
    costs_.host_ns += HostNanos() - start;
    if (hold >= kSoftLockup) {
      const std::string text = absl::StrFormat(
          "watchdog: BUG: soft lockup - CPU#%d stuck for %ds! [page_pool_destroy]", m.ctx.cpu,
          hold / kSecond);
      m.Log(LogLevel::kCrit, text, pool.id());
      m.Violate(ViolationId::kPP013,
                absl::StrFormat("destroy scan of %d pages held destroy_lock with BH disabled for "
                                "%.3f s: %s",
                                m.memory.num_pages(), hold / 1e9, text),
                {.pool = pool.id(), .severity = Severity::kCrash});
    } else if (hold >= kBhLatencyWarn) {
      m.Violate(ViolationId::kPP013,
                absl::StrFormat("destroy scan of %d pages held destroy_lock with BH disabled for "
                                "%.3f s: softirq processing on CPU %d starved meanwhile",
                                m.memory.num_pages(), hold / 1e9, m.ctx.cpu),
                {.pool = pool.id()});
    }
    return false;
  }
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeScanStrategy(const Machine&, const PagePool&) {
  return std::make_unique<ScanStrategy>();
}

}  // namespace ppsim::sim
