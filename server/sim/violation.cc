#include "server/sim/violation.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/fault_injector.h"
#include "server/sim/skb.h"

namespace ppsim::sim {

absl::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kWarning: return "warning";
    case Severity::kLeak: return "leak";
    case Severity::kCorruption: return "corruption";
    case Severity::kCrash: return "crash";
  }
  return "?";
}

namespace {
constexpr std::array<CatalogEntry, kViolationCount> kCatalog = {{
    {ViolationId::kPP001, "PP001", "unmap-after-iommu-teardown", Severity::kCrash,
     "a DMA unmap for a device whose domain or TCE table is freed"},
    {ViolationId::kPP002, "PP002", "dma-api-after-unbind", Severity::kCorruption,
     "any map/unmap/sync for a device after its driver unbound"},
    {ViolationId::kPP003, "PP003", "device-dma-unmapped-iova", Severity::kCrash,
     "the device touches an IOVA with no mapping (IOMMU fault)"},
    {ViolationId::kPP004, "PP004", "device-dma-reused-iova", Severity::kCorruption,
     "the device touches an IOVA that now maps another page"},
    {ViolationId::kPP005, "PP005", "pending-dma-at-unbind", Severity::kWarning,
     "mappings alive when the driver unbinds (dma-debug's message)"},
    {ViolationId::kPP006, "PP006", "bad-unmap", Severity::kCorruption,
     "unmap of an address never mapped, twice, or with another size/direction"},
    {ViolationId::kPP007, "PP007", "use-after-recycle", Severity::kCorruption,
     "a page recycled and handed out again while someone outside the pool still references it"},
    {ViolationId::kPP008, "PP008", "double-recycle", Severity::kCorruption,
     "the same page in the cache/ring twice"},
    {ViolationId::kPP009, "PP009", "refcount-underflow", Severity::kCrash,
     "_refcount, pp_ref_count or inflight below zero"},
    {ViolationId::kPP010, "PP010", "page-use-after-free", Severity::kCrash,
     "a page touched after it went back to the page allocator"},
    {ViolationId::kPP011, "PP011", "page-pool-leak", Severity::kWarning,
     "a page freed to the allocator with the signature still set"},
    {ViolationId::kPP012, "PP012", "stalled-pool-shutdown", Severity::kWarning,
     "a destroyed pool still has inflight pages after 60 s"},
    {ViolationId::kPP013, "PP013", "bh-disabled-too-long", Severity::kWarning,
     "a teardown held a BH-disabling lock: a latency warning from 10 ms, a crash (soft lockup) "
     "from 20 s"},
    {ViolationId::kPP014, "PP014", "removal-blocked", Severity::kWarning,
     "device removal held by the TCE wait for its full 120 s (no hung-task report: the wait "
     "sleeps in msleep(50))"},
    {ViolationId::kPP015, "PP015", "pool-use-after-free", Severity::kCrash,
     "a page returned into a pool struct that was already freed"},
    {ViolationId::kPP016, "PP016", "wrong-pool-return", Severity::kCorruption,
     "a non-pool page recycled, a page returned to another pool, or a pfmemalloc page recycled"},
    {ViolationId::kPP017, "PP017", "leak-at-end", Severity::kLeak,
     "pages still inflight when a scenario's liveness phase ends"},
    {ViolationId::kPP018, "PP018", "stale-cpu-read", Severity::kCorruption,
     "the CPU reads a page whose device data is still in its swiotlb bounce buffer: the "
     "dma_sync_single_for_cpu before the read did nothing"},
}};
}  // namespace

std::span<const CatalogEntry> ViolationCatalog() { return kCatalog; }

const CatalogEntry& CatalogOf(ViolationId id) { return kCatalog[static_cast<int>(id) - 1]; }

absl::StatusOr<ViolationId> ParseViolationId(absl::string_view code) {
  for (const CatalogEntry& e : kCatalog) {
    if (e.code == code || e.name == code) return e.id;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("violation: unknown id \"", code, "\"; expected PP001..PP018"));
}

// aux is kind-specific (events.h); name it so a reader does not have to decode it.
std::string PageEventDetail(const PageEvent& e) {
  switch (e.kind) {
    case PageEventKind::kViolation:
      return std::string(CatalogOf(static_cast<ViolationId>(e.aux)).code);
    case PageEventKind::kFault:
      return absl::StrCat(FaultSiteOf(static_cast<FaultSite>(e.aux >> 1)).name,
                          e.aux & 1 ? " injected" : " not injected");
    case PageEventKind::kDmaMap:
    case PageEventKind::kDmaUnmap:
    case PageEventKind::kDmaSync:
    case PageEventKind::kScrubUnmap:
    case PageEventKind::kDeviceDma:
      return absl::StrFormat("dma=0x%x", e.aux);
    case PageEventKind::kHandout:
      return absl::StrCat("generation=", e.aux);
    case PageEventKind::kPoolHold:
      return absl::StrCat("hold_cnt=", e.aux);
    case PageEventKind::kRelease:
      return absl::StrCat("release_cnt=", e.aux);
    case PageEventKind::kGetPage:
    case PageEventKind::kPutPage:
    case PageEventKind::kConvert:
      return absl::StrCat("_refcount=", e.aux);
    case PageEventKind::kPpRef:
    case PageEventKind::kPpPut:
      return absl::StrCat("pp_ref_count=", e.aux);
    case PageEventKind::kBuddyAlloc:
      return absl::StrCat("order=", e.aux);
    case PageEventKind::kSkbAttach:
      return absl::StrCat("skb=", e.aux);
    case PageEventKind::kRefMismatch:
      return absl::StrCat("held ", FragRefName(static_cast<FragRef>(e.aux >> 4)), ", dropped ",
                          FragRefName(static_cast<FragRef>(e.aux & 0xf)));
    case PageEventKind::kRecycleCache:
      return absl::StrCat("cache_count=", e.aux);
    case PageEventKind::kRecycleRing:
      return absl::StrCat("ring_count=", e.aux);
    default:
      return absl::StrCat(e.aux);
  }
}

namespace {
std::string FormatPageEvent(const PageEvent& e) {
  return absl::StrFormat("    t=%.6fs op#%d %s:%d %-22s pool=%d %s", e.time / 1e9, e.op_index,
                         CtxKindName(e.ctx), e.cpu, PageEventKindName(e.kind), e.pool,
                         PageEventDetail(e));
}
}  // namespace

std::string Violation::Explain() const {
  const CatalogEntry& c = CatalogOf(id);
  std::string out = absl::StrFormat("%s %s [%s] at op #%d, t=%.6fs", c.code, c.name,
                                    SeverityName(severity), op_index, time / 1e9);
  if (pfn) absl::StrAppend(&out, absl::StrFormat(" pfn=0x%x", *pfn));
  if (pool) absl::StrAppend(&out, " pool=", pool);
  if (device) absl::StrAppend(&out, " device=", device);
  if (!strategy.empty()) absl::StrAppend(&out, " strategy=", strategy);
  absl::StrAppend(&out, "\n  ", message);
  if (!history.empty()) {
    absl::StrAppend(&out, "\n  page history (newest first):");
    for (const PageEvent& e : history) absl::StrAppend(&out, "\n", FormatPageEvent(e));
  }
  if (!faults.empty()) {
    absl::StrAppend(&out, "\n  injected faults that touched this page:");
    for (const PageEvent& e : faults) absl::StrAppend(&out, "\n", FormatPageEvent(e));
  }
  return out;
}

}  // namespace ppsim::sim
