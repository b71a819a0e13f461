// `legacy`: up to v6.14 (docs/kernel/page-pool.md §5a). Destroy releases what is cached and retries
// every second; every straggler is unmapped whenever it comes back, through the DMA API of a
// device that may be gone by then. Costs nothing; fails with the late unmap.
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

class LegacyStrategy final : public TeardownStrategy {
 public:
  absl::string_view name() const override { return "legacy"; }
  absl::Status OnEnter(Machine&, PagePool&, Pfn, Frame&, bool) override {
    return absl::OkStatus();
  }
  bool ShouldUnmapOnRelease(Machine&, PagePool&, Pfn, Frame&) override { return true; }
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeLegacyStrategy(const Machine&, const PagePool&) {
  return std::make_unique<LegacyStrategy>();
}

}  // namespace ppsim::sim
