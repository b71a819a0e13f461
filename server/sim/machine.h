// The simulated machine: the state every part of the model works on, and the few services they
// share (page events, kernel log lines, violations, fault decisions, the page allocator's
// get/put). Lab owns a Machine and turns ops into calls on it; the pool, DMA API, device and
// strategy code take a Machine&.
//
// Single-threaded: the daemon serialises a lab's ops (docs/design.md §3.1).
#ifndef PPSIM_SERVER_SIM_MACHINE_H_
#define PPSIM_SERVER_SIM_MACHINE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/sim/clock.h"
#include "server/sim/digest.h"
#include "server/sim/events.h"
#include "server/sim/fault_injector.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/lagging_reader.h"
#include "server/sim/lab_config.h"
#include "server/sim/memory.h"
#include "server/sim/napi.h"
#include "server/sim/prng.h"
#include "server/sim/skb.h"
#include "server/sim/stack_holder.h"
#include "server/sim/types.h"
#include "server/sim/violation.h"

namespace ppsim::sim {

class Device;
class PagePool;

class Machine {
 public:
  Machine(const LabConfig& config, KernelProfile profile);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  const LabConfig config;
  const KernelProfile profile;
  Memory memory;
  VirtualClock clock;
  Prng prng;
  Digest digest;
  EventLog events;
  PageEventLog page_events;
  FaultInjector faults;

  absl::btree_map<DeviceId, std::unique_ptr<Device>> devices;
  absl::btree_map<PoolId, std::unique_ptr<PagePool>> pools;  // freed pools stay as tombstones
  DeviceId next_device_id = 1;
  PoolId next_pool_id = 1;
  IfIndex next_ifindex = 2;  // 1 is lo
  uint64_t next_list_seq = 0;  // page_pools hlist order (PagePool::list_seq_)
  NapiId next_napi_id = 8193;  // MIN_NAPI_ID = NR_CPUS + 1 on a typical config; ids grow from there
  bool memory_pressure = false;  // allocations come from the reserves: pages are pfmemalloc

  // The op being applied: its index in the trace and its context.
  uint64_t op_index = 0;
  ExecContext ctx;
  // The skb free path runs from napi_consume_skb with a budget: napi_pp_put_page's napi_safe
  // (b07a2d97ba5e, 6.4). Set only for the duration of that op.
  bool skb_free_napi_safe = false;
  // Virtual time the current op costs (teardown walks, grace periods). Lab advances the clock
  // by it after the op, so deferred work never runs in the middle of an op.
  Nanos op_cost_ns = 0;

  using Napi = sim::Napi;
  // Never erased (ids are not reused): a pool keeps a pointer to its NAPI for the hot path, and a
  // NAPI whose driver unbound simply stays unscheduled (list_owner -1).
  std::map<NapiId, Napi> napis;

  // skbs and their shared infos (skb.h). Freed skbs stay as tombstones so a late use is named.
  // std::map: the skb code holds references across insertions, which btree_map would move.
  std::map<SkbId, Skb> skbs;
  std::map<uint32_t, SkbShared> shinfos;
  SkbId next_skb_id = 1;
  // Freed skbs are erased; the last few are remembered to name who freed them.
  static constexpr size_t kRecentSkbFrees = 4096;
  std::deque<std::pair<SkbId, uint64_t>> recent_skb_frees;
  uint32_t next_shinfo_id = 1;
  // While several CPUs free skbs at the same tick (kfree_skb_concurrent), each frag's
  // signature test and page->pp read happened before any of them released anything:
  // pfn → owning pool, 0 = not a pp page.
  const absl::flat_hash_map<Pfn, PoolId>* signature_snapshot = nullptr;
  // Stack holders by (kind << 16 | cpu) (stack_holder.h).
  std::map<uint64_t, StackHolder> holders;
  // Lagging readers (lagging_reader.h): open readers, when each page was unpublished, and puts
  // deferred to the end of a grace period (pfn, time of the put).
  std::map<ReaderId, LaggingReader> readers;
  ReaderId next_reader_id = 1;
  absl::flat_hash_map<Pfn, Nanos> unpublished_at;
  absl::flat_hash_set<Pfn> grace_violations;  // PP010 already raised for this unmap
  std::vector<std::pair<Pfn, Nanos>> rcu_puts;

  Device* FindDevice(DeviceId id);
  PagePool* FindPool(PoolId id);
  Device* DeviceOfNetdev(IfIndex ifindex);

  // Resolves a client's page handle (pfn already validated). Touching a page that went back to
  // the allocator is PP010 and returns nullptr: there is nothing left to operate on. A pool page
  // handed out again since the handle was issued is PP007 (use-after-recycle), an ordinary page
  // reallocated since is PP010; both return the frame and the op goes on, as the kernel's
  // would. `what` names the access in the message.
  Frame* ResolvePage(const PageHandle& h, absl::string_view what);

  // ---- page allocator, with the mm checks --------------------------------------------------
  // alloc_pages_node(nid, order): fault site fail_page_alloc; nid < 0 = the context's node.
  std::optional<Pfn> AllocPages(int nid, uint32_t order, const FaultTarget& target);
  uint32_t AllocPagesBulk(int nid, uint32_t n, const FaultTarget& target, Pfn* out);
  // get_page / put_page. put_page frees to the allocator when _refcount reaches 0; a page that
  // still carries the signature is the "page_pool leak" bad page (PP011) and, as bad_page()
  // does, is leaked rather than freed. put_page at _refcount 0 is PP009.
  void GetPage(Pfn pfn, Frame& f);
  void PutPage(Pfn pfn, Frame& f);
  uint32_t LocalNode() const { return memory.numa_nodes() == 0 ? 0 : ctx.cpu % memory.numa_nodes(); }
  // page_pool_page_is_pp (docs/kernel/page-pool.md §1.2), on every return path: the mask and the
  // signature are the profile's, computed once.
  bool IsPpPage(const Frame& f) const { return (f.pp_magic & pp_magic_mask_) == pp_signature_; }
  uint64_t pp_signature() const { return pp_signature_; }

  // ---- what the model reports --------------------------------------------------------------
  void RecordPage(Pfn pfn, Frame& f, PageEventKind kind, uint64_t aux = 0, PoolId pool = 0);
  void Log(LogLevel level, std::string text, PoolId pool = 0, DeviceId device = 0);
  void Notify(EventKind kind, PoolId pool, std::string text);
  struct ViolationContext {
    std::optional<Pfn> pfn;
    PoolId pool = 0;
    DeviceId device = 0;
    std::optional<Severity> severity;  // overrides the catalog's (PP013 escalation)
  };
  void Violate(ViolationId id, std::string message, const ViolationContext& where);
  // A fault decision, logged as an event (and as a page event when it concerns a page).
  bool ShouldFail(FaultSite site, const FaultTarget& target, std::optional<Pfn> pfn = {},
                  uint64_t size = 1);

  const std::vector<Violation>& violations() const { return violations_; }
  uint64_t violation_count(ViolationId id) const { return counts_[static_cast<int>(id) - 1]; }
  // Counts by (id, strategy) for metrics; strategy "" when no pool was involved.
  const ViolationCountsByStrategy& counts_by_strategy() const { return by_strategy_; }
  uint64_t violations_dropped() const { return violations_dropped_; }

 private:
  const uint64_t pp_magic_mask_;
  const uint64_t pp_signature_;
  std::vector<Violation> violations_;
  std::array<uint64_t, kViolationCount> counts_{};
  ViolationCountsByStrategy by_strategy_;
  uint64_t violations_dropped_ = 0;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_MACHINE_H_
