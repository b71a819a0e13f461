// `release-on-destroy`: Jesper Dangaard Brouer's idea in the RFC v4 review
// (docs/kernel/page-pool.md §5f; https://lkml.iu.edu/hypermail/linux/kernel/2411.3/01932.html). At
// destroy, every page still in flight is unmapped and turned into an ordinary page: its pp
// references become page references (_refcount += pp_ref_count - 1), its signature is cleared and
// the pool counts it released, so the pool is freed at once. Holders that return through the skb
// path see no signature and put_page; a driver that still calls page_pool_put_page on the freed
// pool is the refcount-conversion race Yunsheng objected to (PP015).
#include "absl/container/btree_set.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"
#include "server/sim/strategies/strategies.h"

namespace ppsim::sim {
namespace {

class ReleaseOnDestroyStrategy final : public TeardownStrategy {
 public:
  absl::string_view name() const override { return "release-on-destroy"; }

  absl::Status OnEnter(Machine&, PagePool&, Pfn pfn, Frame&, bool) override {
    members_.insert(pfn);
    AddMemory(kBytesPerPage);
    return absl::OkStatus();
  }

  bool ShouldUnmapOnRelease(Machine&, PagePool&, Pfn pfn, Frame&) override {
    if (members_.erase(pfn) != 0) AddMemory(-kBytesPerPage);
    return true;
  }

  bool OnDetach(Machine& m, PagePool& pool, int32_t) override {
    const uint64_t start = HostNanos();
    for (Pfn pfn : members_) {
      Frame& f = m.memory.At(pfn);
      if (pool.dma_map() && f.dma_addr != 0) {
        UnmapForTeardown(m, pool, pfn, f);
        ++costs_.destroy_unmaps;
        Charge(m, m.config.cost.destroy_unmap_ns_per_page);
      }
      f.dma_addr = 0;
      if (f.pp_ref_count > 1) f.refcount += static_cast<int32_t>(f.pp_ref_count - 1);
      m.RecordPage(pfn, f, PageEventKind::kConvert, static_cast<uint64_t>(f.refcount), pool.id());
      f.pp_ref_count = 0;
      pool.ReleaseWithoutPut(m, pfn, f);
    }
    AddMemory(-static_cast<int64_t>(costs_.memory_bytes));
    members_.clear();
    costs_.host_ns += HostNanos() - start;
    return true;
  }

 private:
  static constexpr int64_t kBytesPerPage = 16;  // the lookup it needs (a tracked entry per page)
  absl::btree_set<Pfn> members_;
};

}  // namespace

std::unique_ptr<TeardownStrategy> MakeReleaseOnDestroyStrategy(const Machine&, const PagePool&) {
  return std::make_unique<ReleaseOnDestroyStrategy>();
}

}  // namespace ppsim::sim
