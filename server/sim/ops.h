// The ops a lab applies (docs/design.md §2: client → sim::Op → Lab::Apply). One struct per op, all
// in one variant, each with its kernel-flavoured name and a field list that generic code (the
// digest, the trace, the proto and scenario converters) walks with Fields(). Adding an op is a
// struct here, a row in the variant, and a handler in one of the lab_ops_*.cc files.
#ifndef PPSIM_SERVER_SIM_OPS_H_
#define PPSIM_SERVER_SIM_OPS_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <variant>
#include <vector>

#include "server/sim/types.h"

namespace ppsim::sim::op {

// ---- time and memory -------------------------------------------------------------------------
struct AdvanceTime {
  static constexpr absl::string_view kName = "advance_time";
  Nanos ns = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("ns", s.ns); }
};
struct SetMemoryPressure {  // allocations now come from the reserves: pages are pfmemalloc
  static constexpr absl::string_view kName = "set_memory_pressure";
  bool on = true;
  template <class S, class V> static void Fields(S& s, V&& v) { v("on", s.on); }
};
struct AllocPage {  // alloc_pages_node for a non-pool user
  static constexpr absl::string_view kName = "alloc_page";
  int32_t nid = -1;
  uint32_t order = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("nid", s.nid); v("order", s.order); }
};
struct GetPage {
  static constexpr absl::string_view kName = "get_page";
  PageHandle page;
  template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); }
};
struct PutPage {
  static constexpr absl::string_view kName = "put_page";
  PageHandle page;
  template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); }
};

// ---- devices and drivers ---------------------------------------------------------------------
struct AddDevice {
  static constexpr absl::string_view kName = "add_device";
  std::string name;         // "" = a PCI-style name from the id
  uint32_t numa_node = 0;
  std::string iommu_model;  // "" = the lab's
  int32_t strict = -1;      // -1 = the lab's, 0 = lazy, 1 = strict
  bool needs_sync = false;  // dma_dev_need_sync(); false for coherent devices
  // The driver's DMA mask. On ppc-ddw, 64 gets a dynamic DMA window owned by the device's node
  // and 32 the PHB's default 32-bit TCE window (arch/powerpc/platforms/pseries/iommu.c).
  uint32_t dma_mask_bits = 64;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("name", s.name); v("numa_node", s.numa_node); v("iommu_model", s.iommu_model);
    v("strict", s.strict); v("needs_sync", s.needs_sync); v("dma_mask_bits", s.dma_mask_bits);
  }
};
struct BindDriver {
  static constexpr absl::string_view kName = "bind_driver";
  DeviceId device = 0;
  std::string driver = "generic";  // "generic" or "netdevsim"
  uint32_t rx_queues = 1;
  uint32_t flags = 1;              // PP_FLAG_DMA_MAP (ignored for netdevsim)
  uint32_t order = 0;
  uint32_t pool_size = 0;
  int32_t nid = -1;
  DmaDir dma_dir = DmaDir::kFromDevice;
  uint32_t max_len = 0;
  uint32_t offset = 0;
  std::string strategy;            // "" = the lab's default
  bool xdp = false;                // register the pools as XDP memory models
  bool up = true;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("device", s.device); v("driver", s.driver); v("rx_queues", s.rx_queues);
    v("flags", s.flags); v("order", s.order); v("pool_size", s.pool_size); v("nid", s.nid);
    v("dma_dir", s.dma_dir); v("max_len", s.max_len); v("offset", s.offset);
    v("strategy", s.strategy); v("xdp", s.xdp); v("up", s.up);
  }
};
#define PPSIM_DEVICE_OP(Type, name)                                              \
  struct Type {                                                                  \
    static constexpr absl::string_view kName = name;                              \
    DeviceId device = 0;                                                         \
    template <class S, class V> static void Fields(S& s, V&& v) { v("device", s.device); } \
  };
PPSIM_DEVICE_OP(NetdevUp, "netdev_up")
PPSIM_DEVICE_OP(NetdevDown, "netdev_down")
PPSIM_DEVICE_OP(UnbindDriver, "unbind_driver")
#undef PPSIM_DEVICE_OP
// Device removal; `phb` also removes its PCI host bridge, as a pseries DLPAR removal of the
// slot does (drmgr: remove_slot, then the PHB's device-tree node), which frees the PHB's
// default TCE window with it.
#define PPSIM_REMOVE_OP(Type, name)                                              \
  struct Type {                                                                  \
    static constexpr absl::string_view kName = name;                              \
    DeviceId device = 0;                                                         \
    bool phb = false;                                                            \
    template <class S, class V> static void Fields(S& s, V&& v) {                \
      v("device", s.device); v("phb", s.phb);                                    \
    }                                                                            \
  };
PPSIM_REMOVE_OP(RemoveDevice, "remove_device")
PPSIM_REMOVE_OP(SurpriseRemove, "surprise_remove")
#undef PPSIM_REMOVE_OP
// A NAPI poll of one RX queue: ____napi_schedule records the CPU in napi->list_owner and
// napi_complete_done resets it to -1 (docs/kernel/page-pool.md §3.4). Ops in between, in softirq
// on that CPU, run inside the poll: the only place page_pool_napi_local() holds.
#define PPSIM_QUEUE_OP(Type, name)                                                  \
  struct Type {                                                                     \
    static constexpr absl::string_view kName = name;                                \
    DeviceId device = 0;                                                            \
    uint32_t queue = 0;                                                             \
    template <class S, class V> static void Fields(S& s, V&& v) {                   \
      v("device", s.device); v("queue", s.queue);                                   \
    }                                                                               \
  };
PPSIM_QUEUE_OP(NapiSchedule, "napi_schedule")
PPSIM_QUEUE_OP(NapiCompleteDone, "napi_complete_done")
#undef PPSIM_QUEUE_OP
// The driver's dma_set_mask_and_coherent(DMA_BIT_MASK(bits)) after probe (a reset, a
// reconfiguration): see DmaSetMask in device.h.
struct DmaSetMask {
  static constexpr absl::string_view kName = "dma_set_mask";
  DeviceId device = 0;
  uint32_t bits = 64;
  template <class S, class V> static void Fields(S& s, V&& v) { v("device", s.device); v("bits", s.bits); }
};
struct NsimPpHold {
  static constexpr absl::string_view kName = "nsim_pp_hold";
  DeviceId device = 0;
  bool hold = true;
  template <class S, class V> static void Fields(S& s, V&& v) { v("device", s.device); v("hold", s.hold); }
};
struct DeviceDma {
  static constexpr absl::string_view kName = "device_dma";
  DeviceId device = 0;
  DmaAddr iova = 0;
  uint64_t len = 4096;
  bool write = true;
  PageHandle expect;  // pfn 0 & generation 0 = not given
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("device", s.device); v("iova", s.iova); v("len", s.len); v("write", s.write);
    v("expect", s.expect);
  }
};
struct DeleteNetns {  // the namespace (and lo) goes away: orphaned pools become invisible
  static constexpr absl::string_view kName = "delete_netns";
  template <class S, class V> static void Fields(S&, V&&) {}
};

// ---- page_pool -------------------------------------------------------------------------------
struct PagePoolCreate {
  static constexpr absl::string_view kName = "page_pool_create";
  DeviceId device = 0;
  uint32_t flags = 0;
  uint32_t order = 0;
  uint32_t pool_size = 0;
  int32_t nid = -1;
  DmaDir dma_dir = DmaDir::kFromDevice;
  uint32_t max_len = 0;
  uint32_t offset = 0;
  NapiId napi = 0;
  IfIndex netdev = 0;  // 0 = invisible
  std::string strategy;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("device", s.device); v("flags", s.flags); v("order", s.order); v("pool_size", s.pool_size);
    v("nid", s.nid); v("dma_dir", s.dma_dir); v("max_len", s.max_len); v("offset", s.offset);
    v("napi", s.napi); v("netdev", s.netdev); v("strategy", s.strategy);
  }
};
#define PPSIM_POOL_OP(Type, name)                                            \
  struct Type {                                                              \
    static constexpr absl::string_view kName = name;                          \
    PoolId pool = 0;                                                         \
    template <class S, class V> static void Fields(S& s, V&& v) { v("pool", s.pool); } \
  };
PPSIM_POOL_OP(PagePoolDestroy, "page_pool_destroy")
PPSIM_POOL_OP(XdpRegMemModel, "xdp_reg_mem_model")
PPSIM_POOL_OP(PagePoolDisableDirectRecycling, "page_pool_disable_direct_recycling")
#undef PPSIM_POOL_OP
struct PagePoolEnableDirectRecycling {
  static constexpr absl::string_view kName = "page_pool_enable_direct_recycling";
  PoolId pool = 0;
  NapiId napi = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("pool", s.pool); v("napi", s.napi); }
};
struct PagePoolUpdateNid {
  static constexpr absl::string_view kName = "page_pool_update_nid";
  PoolId pool = 0;
  int32_t nid = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("pool", s.pool); v("nid", s.nid); }
};
struct PagePoolAllocPages {
  static constexpr absl::string_view kName = "page_pool_alloc_pages";
  PoolId pool = 0;
  uint32_t count = 1;
  template <class S, class V> static void Fields(S& s, V&& v) { v("pool", s.pool); v("count", s.count); }
};
struct PagePoolAllocFrag {
  static constexpr absl::string_view kName = "page_pool_alloc_frag";
  PoolId pool = 0;
  uint32_t size = 2048;
  template <class S, class V> static void Fields(S& s, V&& v) { v("pool", s.pool); v("size", s.size); }
};
struct PagePoolPutPage {  // the driver's page_pool_put_page / page_pool_recycle_direct
  static constexpr absl::string_view kName = "page_pool_put_page";
  PoolId pool = 0;            // 0 = page->pp
  PageHandle page;
  int64_t dma_sync_size = -1; // -1 = put_full_page
  bool allow_direct = false;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("pool", s.pool); v("page", s.page); v("dma_sync_size", s.dma_sync_size);
    v("allow_direct", s.allow_direct);
  }
};
struct PagePoolPutPageBulk {  // page_pool_put_netmem_bulk (XDP frame bulk return)
  static constexpr absl::string_view kName = "page_pool_put_page_bulk";
  std::vector<PageHandle> pages;
  template <class S, class V> static void Fields(S& s, V&& v) { v("pages", s.pages); }
};
struct PagePoolRefPage {  // page_pool_ref_netmem: one more pp reference (skb_pp_frag_ref)
  static constexpr absl::string_view kName = "page_pool_ref_page";
  PageHandle page;
  template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); }
};
struct NapiPpPutPage {  // the skb free path for one frag: pp page → pool put, else put_page
  static constexpr absl::string_view kName = "napi_pp_put_page";
  PageHandle page;
  template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); }
};
struct DmaSyncForCpu {  // page_pool_dma_sync_for_cpu by the driver
  static constexpr absl::string_view kName = "dma_sync_for_cpu";
  PageHandle page;
  uint32_t len = 4096;
  template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); v("len", s.len); }
};

// ---- skbs and the stack (docs/kernel/skb-and-iommu.md §1–§3)
// ---------------------------------------
struct FragArg {
  PageHandle page;
  uint32_t offset = 0;
  uint32_t len = 0;  // 0 = to the end of the page
  friend bool operator==(const FragArg&, const FragArg&) = default;
};
struct SkbBuild {  // build_skb / napi_build_skb + skb_add_rx_frag; the pages' refs move in
  static constexpr absl::string_view kName = "skb_build";
  std::vector<FragArg> frags;
  PageHandle head;        // pfn 0 & generation 0 = a slab head
  bool recycle = true;    // skb_mark_for_recycle
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("frags", s.frags); v("head", s.head); v("recycle", s.recycle);
  }
};
#define PPSIM_SKB_OP(Type, name)                                             \
  struct Type {                                                              \
    static constexpr absl::string_view kName = name;                         \
    uint32_t skb = 0;                                                        \
    template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); } \
  };
PPSIM_SKB_OP(SkbClone, "skb_clone")
PPSIM_SKB_OP(PskbExpandHead, "pskb_expand_head")
PPSIM_SKB_OP(SkbSegment, "skb_segment")
PPSIM_SKB_OP(KfreeSkb, "kfree_skb")
PPSIM_SKB_OP(SkbDeferFree, "skb_attempt_defer_free")
PPSIM_SKB_OP(EspReleaseFrags, "esp_release_frags")
#undef PPSIM_SKB_OP
struct NapiConsumeSkb {
  static constexpr absl::string_view kName = "napi_consume_skb";
  uint32_t skb = 0;
  uint32_t budget = 64;  // 0 = called from netpoll
  template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); v("budget", s.budget); }
};
struct KfreeSkbConcurrent {  // these skbs are freed on different CPUs at the same tick
  static constexpr absl::string_view kName = "kfree_skb_concurrent";
  std::vector<uint32_t> skbs;
  template <class S, class V> static void Fields(S& s, V&& v) { v("skbs", s.skbs); }
};
struct PskbTrim {
  static constexpr absl::string_view kName = "pskb_trim";
  uint32_t skb = 0;
  uint32_t keep_frags = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); v("keep_frags", s.keep_frags); }
};
struct SkbSplit {
  static constexpr absl::string_view kName = "skb_split";
  uint32_t skb = 0;
  uint32_t at = 0;   // first frag that moves (or is cut)
  uint32_t cut = 0;  // bytes of frag `at` that stay; 0 = whole frags move
  template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); v("at", s.at); v("cut", s.cut); }
};
struct SkbShift {
  static constexpr absl::string_view kName = "skb_shift";
  uint32_t tgt = 0;
  uint32_t skb = 0;
  uint32_t count = 1;    // whole frags
  uint32_t partial = 0;  // bytes of the next frag
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("tgt", s.tgt); v("skb", s.skb); v("count", s.count); v("partial", s.partial);
  }
};
struct SkbTryCoalesce {
  static constexpr absl::string_view kName = "skb_try_coalesce";
  uint32_t to = 0;
  uint32_t from = 0;
  uint32_t racing_clone = 0;  // a clone of `from` another CPU frees meanwhile; 0 = none
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("to", s.to); v("from", s.from); v("racing_clone", s.racing_clone);
  }
};
struct SkbGroReceive {
  static constexpr absl::string_view kName = "skb_gro_receive";
  uint32_t p = 0;    // the held skb
  uint32_t skb = 0;  // the arriving skb
  template <class S, class V> static void Fields(S& s, V&& v) { v("p", s.p); v("skb", s.skb); }
};
struct SkbFragRef {  // __skb_frag_ref: the returned handle is the extra reference; value 1 if
                     // it is a pp reference (frag_ref_takes_pp_ref), 0 if a page reference
  static constexpr absl::string_view kName = "skb_frag_ref";
  uint32_t skb = 0;
  uint32_t frag = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); v("frag", s.frag); }
};
struct SkbPullPage {  // a subsystem (storage, splice, zerocopy) takes its own page reference
  static constexpr absl::string_view kName = "skb_pull_page";
  uint32_t skb = 0;
  uint32_t frag = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("skb", s.skb); v("frag", s.frag); }
};
struct StackHold {
  static constexpr absl::string_view kName = "stack_hold";
  uint32_t skb = 0;
  std::string holder = "socket";  // socket | defrag | defer_free | qdisc | retransmit
  uint32_t cpu = 0;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("skb", s.skb); v("holder", s.holder); v("cpu", s.cpu);
  }
};
struct StackRelease {
  static constexpr absl::string_view kName = "stack_release";
  std::string holder = "socket";
  uint32_t cpu = 0;
  uint32_t count = 0;  // 0 = all
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("holder", s.holder); v("cpu", s.cpu); v("count", s.count);
  }
};
struct NetRxAction {  // the RX softirq runs on `cpu`: skb_defer_free_flush first
  static constexpr absl::string_view kName = "net_rx_action";
  uint32_t cpu = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("cpu", s.cpu); }
};
#define PPSIM_PAGE_OP(Type, name)                                            \
  struct Type {                                                              \
    static constexpr absl::string_view kName = name;                         \
    PageHandle page;                                                         \
    template <class S, class V> static void Fields(S& s, V&& v) { v("page", s.page); } \
  };
PPSIM_PAGE_OP(UserMap, "user_map")
PPSIM_PAGE_OP(UserUnmap, "user_unmap")
PPSIM_PAGE_OP(ReaderBegin, "gup_fast_begin")
PPSIM_PAGE_OP(PutPageRcu, "put_page_rcu")
#undef PPSIM_PAGE_OP
struct ReaderTryGet {
  static constexpr absl::string_view kName = "gup_fast_try_get";
  uint32_t reader = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("reader", s.reader); }
};
struct ReaderEnd {
  static constexpr absl::string_view kName = "gup_fast_end";
  uint32_t reader = 0;
  template <class S, class V> static void Fields(S& s, V&& v) { v("reader", s.reader); }
};

// ---- faults and checks -----------------------------------------------------------------------
struct SetFault {
  static constexpr absl::string_view kName = "set_fault";
  std::string site;
  double probability = 1.0;
  uint64_t interval = 1;
  int64_t times = -1;
  uint64_t space = 0;
  PoolId filter_pool = 0;
  DeviceId filter_device = 0;
  std::string filter_ctx;  // "" = any, else process | softirq | workqueue
  Nanos delay_ns = 0;
  template <class S, class V> static void Fields(S& s, V&& v) {
    v("site", s.site); v("probability", s.probability); v("interval", s.interval);
    v("times", s.times); v("space", s.space); v("filter_pool", s.filter_pool);
    v("filter_device", s.filter_device); v("filter_ctx", s.filter_ctx); v("delay_ns", s.delay_ns);
  }
};
struct ClearFaults {
  static constexpr absl::string_view kName = "clear_faults";
  std::string site;  // "" = all
  template <class S, class V> static void Fields(S& s, V&& v) { v("site", s.site); }
};
struct LivenessCheck {  // end of a liveness phase: every live pool must have drained (PP017)
  static constexpr absl::string_view kName = "liveness_check";
  template <class S, class V> static void Fields(S&, V&&) {}
};

}  // namespace ppsim::sim::op

namespace ppsim::sim {

using OpBody = std::variant<
    op::AdvanceTime, op::SetMemoryPressure, op::AllocPage, op::GetPage, op::PutPage,
    op::AddDevice, op::BindDriver, op::NetdevUp, op::NetdevDown, op::UnbindDriver,
    op::RemoveDevice, op::SurpriseRemove, op::NsimPpHold, op::DeviceDma, op::DeleteNetns,
    op::PagePoolCreate, op::PagePoolDestroy, op::XdpRegMemModel,
    op::PagePoolDisableDirectRecycling, op::PagePoolEnableDirectRecycling, op::PagePoolUpdateNid,
    op::PagePoolAllocPages, op::PagePoolAllocFrag, op::PagePoolPutPage, op::PagePoolPutPageBulk,
    op::PagePoolRefPage, op::NapiPpPutPage, op::DmaSyncForCpu, op::SetFault, op::ClearFaults,
    op::LivenessCheck, op::SkbBuild, op::SkbClone, op::PskbExpandHead, op::SkbSegment,
    op::KfreeSkb, op::SkbDeferFree, op::EspReleaseFrags, op::NapiConsumeSkb,
    op::KfreeSkbConcurrent, op::PskbTrim, op::SkbSplit, op::SkbShift, op::SkbTryCoalesce,
    op::SkbGroReceive, op::SkbFragRef, op::SkbPullPage, op::StackHold, op::StackRelease,
    op::NetRxAction, op::UserMap, op::UserUnmap, op::ReaderBegin, op::PutPageRcu,
    op::ReaderTryGet, op::ReaderEnd, op::NapiSchedule, op::NapiCompleteDone, op::DmaSetMask>;

struct Op {
  ExecContext ctx;
  OpBody body;
};

absl::string_view OpName(const OpBody& body);
// One line, "name key=value ...", for logs and failure messages.
std::string OpToString(const Op& op);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_OPS_H_
