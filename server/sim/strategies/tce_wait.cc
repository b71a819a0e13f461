// `tce-wait`: Gaurav Batra's powerpc proposal (docs/kernel/page-pool.md §5e; v2
// 20250213171051.63748-1-gbatra@linux.ibm.com). The pool behaves as legacy; device removal
// polls every 50 ms while the table still has entries in use ("iommu_table_free: Unexpected
// TCEs, wait for 50ms") and gives up after 120 s, freeing the table anyway. Holders that
// outlive the wait bring the late unmap back; removal blocks meanwhile.
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

class TceWaitStrategy final : public TeardownStrategy {
 public:
  absl::string_view name() const override { return "tce-wait"; }
  absl::Status OnEnter(Machine&, PagePool&, Pfn, Frame&, bool) override {
    return absl::OkStatus();
  }
  bool ShouldUnmapOnRelease(Machine&, PagePool&, Pfn, Frame&) override { return true; }
  RemovalWait Removal() const override { return {50 * kMillisecond, 120 * kSecond}; }
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeTceWaitStrategy(const Machine&, const PagePool&) {
  return std::make_unique<TceWaitStrategy>();
}

}  // namespace ppsim::sim
