// The model's side of an observation: the same fields the test module reads out of struct
// page_pool and struct page (tests/oracle/kmod/ppo_obs.c), read out of the lab.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/oracle/model_run.h"
#include "server/sim/kernel_view.h"
#include "server/sim/page_pool.h"

namespace ppsim::oracle {

OpObs ModelRun::Observe(const OracleOp& o, int index, const absl::Status& status,
                        const std::vector<int>& touched) {
  OpObs obs;
  obs.op = index;
  obs.line = o.text;
  obs.refused = !status.ok();
  obs.err = std::string(status.message());
  for (int p = 1; p <= map_.pools(); ++p) obs.pools.push_back(ObservePool(p));
  std::vector<int> seen;
  for (int page : touched) {
    if (std::find(seen.begin(), seen.end(), page) != seen.end()) continue;
    seen.push_back(page);
    obs.pages.push_back(ObservePage(page));
  }
  for (int skb : touched_skbs_) obs.skbs.push_back(ObserveSkb(skb));
  obs.netlink = ObserveNetlink();
  obs.flags = ObserveLog();
  return obs;
}

PoolObs ModelRun::ObservePool(int index) {
  const PoolEntry& e = map_.pool(index);
  const sim::KernelView k = lab_->kernel_view();
  const sim::PagePool* pool = k.page_pool(e.id);
  PoolObs o;
  o.pool = index;
  o.state = pool->state() == sim::PoolState::kActive ? "live" : "destroyed";
  for (int p = 1; p <= map_.pages(); ++p) {
    const PageEntry& page = map_.page(p);
    if (page.pool != index || !page.owned) continue;
    ++o.held;
    if (k.page(page.handle.pfn)->dma_addr != 0) ++o.held_dma_nonzero;
  }
  o.readable = Reachable(index);
  if (!o.readable) return o;
  o.cache = pool->cache_count();
  o.ring = pool->ring_count();
  o.ring_size = pool->ring_size();
  o.hold = pool->hold_cnt();
  o.release = pool->release_cnt();
  o.inflight = pool->inflight();
  o.nid = pool->params().nid;
  o.destroy_cnt = pool->destroy_cnt();
  o.cpuid = pool->cpuid();
  o.napi_set = pool->napi() != 0;
  o.detached = pool->detach_time().has_value();
  return o;
}

PageObs ModelRun::ObservePage(int index) {
  const PageEntry& e = map_.page(index);
  const sim::KernelView k = lab_->kernel_view();
  const sim::Pfn pfn = e.handle.pfn;
  const sim::Frame& f = *k.page(pfn);
  const sim::PoolId pool = map_.pool(e.pool).id;
  PageObs o;
  o.page = index;
  o.pool = e.pool;
  o.pfn = pfn;
  o.refcount = f.refcount;
  o.pp_ref = f.pp_ref_count;
  o.signature = k.page_is_pp(f);
  o.pp_is_pool = f.pool == pool;
  o.pfmemalloc = f.pfmemalloc();
  o.nid = k.page_to_nid(pfn);
  o.dma_nonzero = f.dma_addr != 0;
  if (Reachable(e.pool)) {  // ppo_obs.c obs_page reads `where` only then
    o.where = f.pool == pool && f.state == sim::FrameState::kPoolCache  ? "cache"
              : f.pool == pool && f.state == sim::FrameState::kPoolRing ? "ring"
                                                                         : "out";
  }
  return o;
}

// ppo_obs.c obs_skb. The model's skbs have no linear data (nor do the module's: ppo_skb.c
// empty_linear): data_len is len and headlen 0.
SkbObs ModelRun::ObserveSkb(int index) {
  const sim::KernelView k = lab_->kernel_view();
  SkbObs o;
  o.skb = index;
  const sim::Skb* found = k.skb(skbs_[index - 1]);
  if (found == nullptr) {
    o.state = "freed";
    return o;
  }
  const sim::Skb& skb = *found;
  o.state = skb.on_frag_list != 0 ? "chained" : skb.holder != 0 ? "held" : "live";
  if (o.state == "chained") return o;
  const sim::SkbShared& sh = k.skb_shinfo(skb);
  o.pp_recycle = skb.pp_recycle;
  o.dataref = sh.dataref;
  o.nr_frags = static_cast<int64_t>(sh.frags.size());
  o.cloned = sh.dataref > 1;
  o.len = skb.len;
  o.data_len = o.len;
  o.headlen = 0;
  o.head_page = sh.head_frag ? PageIndexOfPfn(sh.head_pfn) : 0;
  o.frag_list = static_cast<int64_t>(sh.frag_list.size());
  for (const sim::SkbFrag& f : sh.frags) {
    o.frags.push_back({.page = PageIndexOfPfn(f.pfn), .off = f.offset, .size = f.len});
  }
  return o;
}

// The page-pool-get dump, for the sequence's pools (Lab::ListPools: listed and not freed).
std::vector<NetlinkObs> ModelRun::ObserveNetlink() const {
  std::vector<NetlinkObs> out;
  const std::vector<sim::PoolInfo> listed = lab_->NetlinkDump();
  for (int p = 1; p <= map_.pools(); ++p) {
    const sim::PoolId id = map_.pool(p).id;
    for (const sim::PoolInfo& i : listed) {
      if (i.id != id) continue;
      NetlinkObs n{.pool = p, .ifindex = "absent", .napi = "absent",
                   .inflight = static_cast<int64_t>(i.inflight),
                   .inflight_mem = static_cast<int64_t>(i.inflight_mem),
                   .detached = i.detach_time.has_value()};
      if (i.ifindex) {
        const int nd = map_.NetdevOfIfindex(*i.ifindex);
        n.ifindex = nd != 0                              ? absl::StrCat("netdev ", nd)
                    : *i.ifindex == sim::kLoopbackIfindex ? "lo"
                                                          : absl::StrCat("ifindex ", *i.ifindex);
      }
      if (i.napi_id != 0) {
        const int napi = map_.NapiOfId(i.napi_id);
        n.napi = napi != 0 ? absl::StrCat("napi ", napi) : absl::StrCat("napi-id ", i.napi_id);
      }
      out.push_back(std::move(n));
    }
  }
  return out;
}

// The kernel-log lines the op made the model print, classified as ppo-run.c scan_flags does.
// Violations are the model's verdicts, not kernel output, and are not read here.
LogFlags ModelRun::ObserveLog() {
  LogFlags f;
  for (const sim::Event& e : lab_->TakeEvents()) {
    if (e.kind != sim::EventKind::kKernelLog) continue;
    const std::string& t = e.text;
    f.warn |= absl::StrContains(t, "WARNING:");
    f.bug |= absl::StrContains(t, "BUG:");
    f.stalled |= absl::StrContains(t, "stalled pool shutdown");
    f.bad_page |= absl::StrContains(t, "Bad page state");
    f.oops |= absl::StrContains(t, "Oops") || absl::StrContains(t, "general protection");
  }
  return f;
}

}  // namespace ppsim::oracle
