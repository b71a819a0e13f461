#include "server/sim/fault_injector.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ppsim::sim {

namespace {
constexpr std::array<FaultSiteInfo, kFaultSiteCount> kSites = {{
    {FaultSite::kFailPageAlloc, "fail_page_alloc",
     "the page allocator returns nothing (alloc_pages, alloc_pages_bulk_node)", false},
    {FaultSite::kFailDmaMap, "fail_dma_map",
     "dma_map_page_attrs fails; the pool frees the page and the allocation fails", false},
    {FaultSite::kFailDmaTrack, "fail_dma_track",
     "xa_alloc of the DMA-tracking id fails with -ENOMEM (v6.15+ page_pool_dma_map)", false},
    {FaultSite::kDelayHolderRelease, "delay_holder_release",
     "a network-stack holder keeps its skb delay_ns longer", true},
    {FaultSite::kSurpriseRemove, "surprise_remove",
     "right after an op, the device is hot-unplugged (driver remove, then device_del)", false},
    {FaultSite::kIotlbFlushDelay, "iotlb_flush_delay",
     "the lazy-mode IOTLB flush timer fires delay_ns late", true},
    {FaultSite::kStaleDeviceDma, "stale_device_dma",
     "after an unmap, the device writes through its stale descriptor delay_ns later", true},
    {FaultSite::kReleaseDuringRingProduce, "release_during_ring_produce",
     "a destroyed pool's release worker runs on another CPU while a page is being produced into "
     "its ring (between the produce and the producer's unlock)", false},
}};
}  // namespace

std::span<const FaultSiteInfo> FaultSites() { return kSites; }
const FaultSiteInfo& FaultSiteOf(FaultSite site) { return kSites[static_cast<size_t>(site)]; }

absl::StatusOr<FaultSite> ParseFaultSite(absl::string_view name) {
  std::string known;
  for (const FaultSiteInfo& s : kSites) {
    if (s.name == name) return s.site;
    absl::StrAppend(&known, known.empty() ? "" : ", ", s.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("site: unknown fault site \"", name, "\"; known: ", known));
}

absl::Status FaultSpec::Validate(FaultSite site) const {
  if (!(probability >= 0.0 && probability <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("probability: ", probability, " must be in [0, 1]"));
  }
  if (interval == 0) return absl::InvalidArgumentError("interval: 0 must be >= 1");
  if (times < -1) {
    return absl::InvalidArgumentError(absl::StrCat("times: ", times, " must be -1 or >= 0"));
  }
  if (delay_ns < 0) {
    return absl::InvalidArgumentError(absl::StrCat("delay_ns: ", delay_ns, " must be >= 0"));
  }
  if (delay_ns > 0 && !FaultSiteOf(site).uses_delay) {
    return absl::InvalidArgumentError(absl::StrCat("delay_ns: ", delay_ns, " is meaningless for ",
                                                   FaultSiteOf(site).name));
  }
  return absl::OkStatus();
}

void FaultInjector::Set(FaultSite site, const FaultSpec& spec) {
  State& s = state_[Index(site)];
  s.spec = spec;
  s.count = 0;
  s.times_left = spec.times;
  s.space_left = spec.space;
}

void FaultInjector::Clear(FaultSite site) { state_[Index(site)].spec.reset(); }

void FaultInjector::ClearAll() {
  for (State& s : state_) s.spec.reset();
}

FaultDecision FaultInjector::Decide(FaultSite site, const FaultTarget& target, Prng& prng,
                                    uint64_t size) {
  State& s = state_[Index(site)];
  if (!s.spec || s.spec->probability <= 0.0) return {};
  const FaultFilter& f = s.spec->filter;
  if (f.pool != 0 && f.pool != target.pool) return {};
  if (f.device != 0 && f.device != target.device) return {};
  if (f.ctx && *f.ctx != target.ctx.kind) return {};
  ++s.evaluated;
  FaultDecision d{.evaluated = true, .fire = false};
  if (s.times_left == 0) return d;
  if (s.space_left > size) {
    s.space_left -= size;
    return d;
  }
  if (s.spec->interval > 1 && (++s.count % s.spec->interval) != 0) return d;
  if (!prng.Bernoulli(s.spec->probability)) return d;
  if (s.times_left > 0) --s.times_left;
  ++s.injected;
  d.fire = true;
  return d;
}

}  // namespace ppsim::sim
