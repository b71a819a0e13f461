// A lab: one isolated simulated machine (docs/design.md §3.1). It applies ops in order, records the
// trace of applied ops and a running digest, and answers queries shaped like the kernel's
// netlink page-pool-get. A rejected op (malformed, unknown id, meaningless in the current
// state) returns an error naming the field and value and changes nothing; a buggy but
// executable sequence is applied and reported as violations.
//
// Example:
//   auto lab = Lab::Create(LabConfig{.profile = "v6.8"}).value();
//   auto dev = lab->Apply({.body = op::AddDevice{}})->device;
//   lab->Apply({.body = op::BindDriver{.device = dev}});
//   lab->Apply({.ctx = {CtxKind::kSoftirq, 0}, .body = op::PagePoolAllocPages{.pool = 1}});
#ifndef PPSIM_SERVER_SIM_LAB_H_
#define PPSIM_SERVER_SIM_LAB_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/sim/device.h"
#include "server/sim/fault_injector.h"
#include "server/sim/kernel_view.h"
#include "server/sim/lab_config.h"
#include "server/sim/machine.h"
#include "server/sim/ops.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

struct PageRef {
  PageHandle page;
  uint32_t offset = 0;   // fragments
  DmaAddr dma_addr = 0;  // what the driver would put in the RX descriptor
};

struct OpResult {
  std::vector<PageRef> pages;  // pages handed out by the op (fewer than asked = NULL returns)
  DeviceId device = 0;
  PoolId pool = 0;
  std::vector<PoolId> pools;   // pools created by the op (bind/up)
  IfIndex ifindex = 0;
  std::vector<uint32_t> skbs;  // skbs created by the op (build, clone, split, segment)
  // Op-specific: whether a merge happened (coalesce, GRO), the reader id, skbs released.
  uint64_t value = 0;
};

// The netlink page-pool-get attributes plus the 11 stats and ppsim's own view.
struct PoolInfo {
  PoolId id = 0;
  std::optional<IfIndex> ifindex;  // omitted when orphaned or invisible
  NapiId napi_id = 0;
  uint64_t inflight = 0;           // clamped at 0, as netlink reports it
  int32_t inflight_strict = 0;
  uint64_t inflight_mem = 0;
  std::optional<int64_t> detach_time;
  PoolState state = PoolState::kActive;
  Visibility visibility = Visibility::kInvisible;
  std::string strategy;
  DeviceId device = 0;
  // The netdev the pool was created for (its params' netdev), kept when netlink's ifindex is
  // omitted after an unregister: a stable metrics label. 0 or kNetPtrPoison for none.
  IfIndex netdev = 0;
  uint32_t hold_cnt = 0, release_cnt = 0;
  uint32_t cache_count = 0, ring_count = 0, ring_size = 0;
  int user_cnt = 0;
  PagePoolAllocStats alloc;
  PagePoolRecycleStats recycle;
  StrategyCosts costs;
  // Teardown timings in virtual ns, for the strategy comparison (docs/design.md §3.6, §6): when
  // destroy left pages in flight (page_pool_detached; -1 never), when __page_pool_destroy ran
  // (-1 alive) — for a detached pool that is the retry tick that saw inflight 0
  // (docs/kernel/page-pool.md §4.3) — and how long its device's device_del waited, start to
  // done (still waiting: so far; -1 no removal).
  Nanos detached_at = -1;
  Nanos freed_at = -1;
  Nanos device_removal_wait = -1;
};

struct PageInfo {
  Pfn pfn = 0;
  FrameState state = FrameState::kFreeTail;
  uint32_t generation = 0;
  int32_t refcount = 0;
  int64_t pp_ref_count = 0;
  uint64_t pp_magic = 0;
  bool is_pp = false;
  PoolId pool = 0;
  DmaAddr dma_addr = 0;
  bool pfmemalloc = false;
  uint32_t order = 0;
  uint32_t node = 0;
  std::vector<PageEvent> history;  // newest first, up to 16
};

struct DeviceInfo {
  DeviceId id = 0;
  std::string name;
  DeviceState state = DeviceState::kPresent;
  IfIndex ifindex = 0;
  bool up = false;
  std::vector<PoolId> rx_pools;
  std::vector<NapiId> napis;
  size_t mapped = 0;          // live IOVA mappings
  size_t mapped_pages = 0;    // pages those mappings cover (ppsim_iommu_mapped_pages)
  size_t dma_debug_pending = 0;
  Nanos removal_latency = -1; // device_del duration, once finished
  std::array<uint64_t, kIommuFaultKinds> iommu_faults{};  // by IommuFaultKind
};

class Lab {
 public:
  static absl::StatusOr<std::unique_ptr<Lab>> Create(const LabConfig& config);

  absl::StatusOr<OpResult> Apply(const Op& op);

  uint64_t digest() const { return m_->digest.value(); }
  Nanos now() const { return m_->clock.now(); }
  const LabConfig& config() const { return m_->config; }
  const std::vector<Op>& trace() const { return trace_; }
  std::vector<Event> TakeEvents() { return m_->events.Take(); }
  const std::vector<Violation>& violations() const { return m_->violations(); }
  uint64_t violation_count(ViolationId id) const { return m_->violation_count(id); }
  uint64_t violation_total() const;

  std::vector<PoolInfo> ListPools() const;  // page-pool-get dump: listed, not freed
  // What NETDEV_CMD_PAGE_POOL_GET's dump returns, in its order: netdevs by ifindex, each
  // netdev's list from the head, and the resume rule that skips a pool whose id is above the
  // last one listed on that netdev (page_pool_user.c netdev_nl_page_pool_get_dump), which
  // hides lo's own pools behind a spliced-in list after an unregister (the oracle's
  // unregister-lo-dump-skips, 6.12.95 and 7.3.4).
  std::vector<PoolInfo> NetlinkDump() const;
  std::vector<PoolInfo> AllPools() const;   // including invisible and freed ones
  absl::StatusOr<PoolInfo> GetPool(PoolId id) const;
  absl::StatusOr<PageInfo> GetPage(Pfn pfn) const;
  absl::StatusOr<DeviceInfo> GetDevice(DeviceId id) const;
  std::vector<DeviceInfo> AllDevices() const;  // by id, removed ones included

  // Read-only snapshots for everything outside server/sim (docs/design.md §2): the metrics,
  // the quotas, the chaos runner and the oracle read the lab through these and Machine stays
  // the model's own. Tests reach the Machine through LabTestPeer (lab_test_peer.h).
  uint64_t faults_injected(FaultSite site) const { return m_->faults.injected(site); }
  const ViolationCountsByStrategy& violation_counts_by_strategy() const {
    return m_->counts_by_strategy();
  }
  MemoryStats memory_stats() const { return m_->memory.stats(); }
  KernelView kernel_view() const { return KernelView(*m_); }

 private:
  friend class LabTestPeer;
  explicit Lab(std::unique_ptr<Machine> m) : m_(std::move(m)) {}
  // Handlers, one per op type (lab_ops_*.cc). Validate first; mutate only when valid.
#define PPSIM_HANDLER(T) absl::StatusOr<OpResult> Do(const op::T& o);
  PPSIM_HANDLER(AdvanceTime) PPSIM_HANDLER(SetMemoryPressure) PPSIM_HANDLER(AllocPage)
  PPSIM_HANDLER(GetPage) PPSIM_HANDLER(PutPage) PPSIM_HANDLER(AddDevice)
  PPSIM_HANDLER(BindDriver) PPSIM_HANDLER(NetdevUp) PPSIM_HANDLER(NetdevDown)
  PPSIM_HANDLER(UnbindDriver) PPSIM_HANDLER(RemoveDevice) PPSIM_HANDLER(SurpriseRemove)
  PPSIM_HANDLER(NsimPpHold) PPSIM_HANDLER(DeviceDma) PPSIM_HANDLER(DeleteNetns)
  PPSIM_HANDLER(PagePoolCreate) PPSIM_HANDLER(PagePoolDestroy) PPSIM_HANDLER(XdpRegMemModel)
  PPSIM_HANDLER(PagePoolDisableDirectRecycling) PPSIM_HANDLER(PagePoolEnableDirectRecycling)
  PPSIM_HANDLER(PagePoolUpdateNid) PPSIM_HANDLER(PagePoolAllocPages)
  PPSIM_HANDLER(PagePoolAllocFrag) PPSIM_HANDLER(PagePoolPutPage)
  PPSIM_HANDLER(PagePoolPutPageBulk) PPSIM_HANDLER(PagePoolRefPage) PPSIM_HANDLER(NapiPpPutPage)
  PPSIM_HANDLER(DmaSyncForCpu) PPSIM_HANDLER(SetFault) PPSIM_HANDLER(ClearFaults)
  PPSIM_HANDLER(LivenessCheck) PPSIM_HANDLER(SkbBuild) PPSIM_HANDLER(SkbClone)
  PPSIM_HANDLER(PskbExpandHead) PPSIM_HANDLER(SkbSegment) PPSIM_HANDLER(KfreeSkb)
  PPSIM_HANDLER(SkbDeferFree) PPSIM_HANDLER(EspReleaseFrags) PPSIM_HANDLER(NapiConsumeSkb)
  PPSIM_HANDLER(KfreeSkbConcurrent) PPSIM_HANDLER(PskbTrim) PPSIM_HANDLER(SkbSplit)
  PPSIM_HANDLER(SkbShift) PPSIM_HANDLER(SkbTryCoalesce) PPSIM_HANDLER(SkbGroReceive)
  PPSIM_HANDLER(SkbFragRef) PPSIM_HANDLER(SkbPullPage) PPSIM_HANDLER(StackHold)
  PPSIM_HANDLER(StackRelease) PPSIM_HANDLER(NetRxAction) PPSIM_HANDLER(UserMap)
  PPSIM_HANDLER(UserUnmap) PPSIM_HANDLER(ReaderBegin) PPSIM_HANDLER(PutPageRcu)
  PPSIM_HANDLER(ReaderTryGet) PPSIM_HANDLER(ReaderEnd) PPSIM_HANDLER(NapiSchedule)
  PPSIM_HANDLER(NapiCompleteDone) PPSIM_HANDLER(DmaSetMask)
#undef PPSIM_HANDLER

  // Lookups that produce the API's errors.
  absl::StatusOr<Device*> DeviceArg(DeviceId id, absl::string_view field = "device");
  absl::StatusOr<PagePool*> PoolArg(PoolId id, absl::string_view field = "pool");
  absl::StatusOr<Napi*> QueueNapiArg(DeviceId device, uint32_t queue);
  absl::Status PageArg(const PageHandle& h, absl::string_view field = "page") const;
  // A live skb not owned by a stack holder.
  absl::Status SkbArg(uint32_t id, absl::string_view field = "skb", bool allow_held = false) const;
  // PP015 when an op hands a page to a pool that was already freed. Returns true if freed.
  bool PoolFreed(PagePool& pool, std::optional<Pfn> pfn, absl::string_view what);
  PageRef Ref(Pfn pfn, uint32_t offset = 0) const;
  PoolInfo Info(const PagePool& pool) const;
  DeviceInfo Info(const Device& device) const;
  void MixOp(const Op& op);

  std::unique_ptr<Machine> m_;
  std::vector<Op> trace_;
};

struct ReplayResult {
  uint64_t digest = 0;
  size_t ops = 0;
  bool matches = false;
};
// Re-applies `ops` on a fresh lab with `config` and compares the digest with `expected`.
// An op that the fresh lab rejects is an error (the trace does not belong to this config).
// `before_op`, when set, is asked before each op (index i) and its error ends the replay: the
// daemon charges its quotas there, so a scratch lab obeys the caps a served lab does.
using ReplayGuard = std::function<absl::Status(const Lab& lab, size_t i)>;
absl::StatusOr<ReplayResult> Replay(const LabConfig& config, const std::vector<Op>& ops,
                                    uint64_t expected, const ReplayGuard& before_op = nullptr);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_LAB_H_
