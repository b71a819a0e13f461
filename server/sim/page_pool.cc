#include "server/sim/page_pool.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/device.h"
#include "server/sim/machine.h"

namespace ppsim::sim {

const char* PoolStateName(PoolState s) {
  switch (s) {
    case PoolState::kActive: return "active";
    case PoolState::kDetached: return "detached";
    case PoolState::kFreed: return "freed";
  }
  return "?";
}

const char* VisibilityName(Visibility v) {
  switch (v) {
    case Visibility::kNormal: return "normal";
    case Visibility::kOrphaned: return "orphaned";
    case Visibility::kInvisible: return "invisible";
  }
  return "?";
}

// page_pool_init's checks (docs/kernel/page-pool.md §2.1). A failure is what the kernel reports as
// "page_pool_create_percpu() gave up with errno %d".
absl::Status PagePoolParams::Validate() const {
  auto einval = [](std::string msg) {
    return absl::InvalidArgumentError(absl::StrCat(
        msg, " (page_pool_init returns -EINVAL: page_pool_create_percpu() gave up with errno -22)"));
  };
  if (flags & ~PP_FLAG_ALL) {
    return einval(absl::StrFormat("flags: 0x%x has unknown bits 0x%x", flags, flags & ~PP_FLAG_ALL));
  }
  if (flags & PP_FLAG_ALLOW_UNREADABLE_NETMEM) {
    return absl::InvalidArgumentError(
        "flags: PP_FLAG_ALLOW_UNREADABLE_NETMEM needs a memory provider, which ppsim does not "
        "model");
  }
  if ((flags & PP_FLAG_DMA_MAP) && dma_dir != DmaDir::kFromDevice &&
      dma_dir != DmaDir::kBidirectional) {
    return einval(absl::StrCat("dma_dir: ", DmaDirName(dma_dir),
                               " with PP_FLAG_DMA_MAP; expected DMA_FROM_DEVICE or "
                               "DMA_BIDIRECTIONAL"));
  }
  if (flags & PP_FLAG_DMA_SYNC_DEV) {
    if (!(flags & PP_FLAG_DMA_MAP)) return einval("flags: PP_FLAG_DMA_SYNC_DEV without PP_FLAG_DMA_MAP");
    if (max_len == 0) return einval("max_len: 0 with PP_FLAG_DMA_SYNC_DEV");
  }
  if (order > Memory::kMaxOrder) {
    return einval(absl::StrCat("order: ", order, " exceeds MAX_PAGE_ORDER ", Memory::kMaxOrder));
  }
  if (nid < kNumaNoNode) return einval(absl::StrCat("nid: ", nid, " is not a node or NUMA_NO_NODE"));
  return absl::OkStatus();
}

// The tracking index lives in pp_magic, whose mask is machine-wide (the mm helpers): one pool
// cannot have it on a kernel that does not. The lab must run the patch (default_strategy
// dma-tracking, or the profile switch).
absl::Status CheckStrategyFitsProfile(const Machine& m, absl::string_view strategy) {
  if (strategy == "dma-tracking" && !m.profile.pp_magic_has_dma_index) {
    return absl::InvalidArgumentError(absl::StrCat(
        "strategy: dma-tracking needs pp_magic's DMA index, which profile ", m.profile.name,
        " lacks; make it the lab's default_strategy (its stable backport) or set the profile "
        "switch pp_magic_has_dma_index=true"));
  }
  return absl::OkStatus();
}

PagePool::PagePool(PoolId id, const PagePoolParams& p) : id_(id), p_(p) {
  const uint32_t ring = p.pool_size == 0 ? kPtrRingDefaultSize
                                         : std::min(p.pool_size, kPtrRingMaxSize);
  ring_.assign(ring, Memory::kNoPfn);
  dma_map_ = p.flags & PP_FLAG_DMA_MAP;
  dma_sync_ = p.flags & PP_FLAG_DMA_SYNC_DEV;
  netdev_ = p.netdev;
}

namespace {
// ptr_ring_init's batch: two cache lines of pointers, or 1 when that exceeds half the ring
// (include/linux/ptr_ring.h __ptr_ring_set_size): 16 on x86-64, 32 on ppc64 (128-byte lines)
// and on 32-bit builds (4-byte pointers).
uint32_t PtrRingBatch(const KernelProfile& profile, uint32_t size) {
  const uint32_t line = profile.arch == Arch::kPpc64 ? 128 : 64;
  const uint32_t ptr =
      profile.arch == Arch::kX86_32 || profile.arch == Arch::kRiscv32Nommu ? 4 : 8;
  const uint32_t batch = 2 * line / ptr;
  return batch > size / 2 ? 1 : batch;
}
}  // namespace

absl::StatusOr<PagePool*> PagePool::Create(Machine& m, const PagePoolParams& params) {
  if (absl::Status s = params.Validate(); !s.ok()) return s;
  if (params.nid >= static_cast<int32_t>(m.memory.numa_nodes())) {
    return absl::InvalidArgumentError(absl::StrCat("nid: ", params.nid, " but the lab has ",
                                                   m.memory.numa_nodes(), " NUMA nodes"));
  }
  if ((params.flags & PP_FLAG_DMA_MAP) && m.FindDevice(params.dev) == nullptr) {
    return absl::NotFoundError(absl::StrCat("dev: device ", params.dev, " does not exist"));
  }
  if (params.napi != 0 && !m.napis.contains(params.napi)) {
    return absl::NotFoundError(absl::StrCat("napi: NAPI ", params.napi, " does not exist"));
  }
  const std::string strategy_name = !params.strategy.empty()          ? params.strategy
                                    : !m.config.default_strategy.empty() ? m.config.default_strategy
                                                                         : m.profile.default_strategy;
  absl::StatusOr<const StrategyInfo*> info = FindStrategy(strategy_name);
  if (!info.ok()) return info.status();
  if (absl::Status s = CheckStrategyFitsProfile(m, strategy_name); !s.ok()) return s;

  const PoolId id = m.next_pool_id++;
  auto pool = std::unique_ptr<PagePool>(new PagePool(id, params));
  pool->p_.strategy = strategy_name;
  pool->strategy_ = (*info)->make(m, *pool);
  pool->created_at_ = m.clock.now();
  pool->ring_batch_ = PtrRingBatch(m.profile, static_cast<uint32_t>(pool->ring_.size()));
  if (params.napi != 0) {
    pool->napi_ptr_ = &FindOrDie(m.napis, params.napi, "NAPI");
    if (pool->napi_ptr_->id_assigned) pool->napi_id_ = params.napi;
  }
  if (const Device* dev = m.FindDevice(params.dev)) pool->bind_generation_ = dev->bind_generation;
  pool->list_seq_ = ++m.next_list_seq;
  PagePool* raw = pool.get();
  m.pools.emplace(id, std::move(pool));
  m.digest.Mix(DigestTag::kPagePoolCreate, id);
  if (raw->visibility() != Visibility::kInvisible) {
    m.Notify(EventKind::kPoolAdd, id, absl::StrCat("page-pool-add-ntf id ", id, " ifindex ",
                                                   raw->netdev_));
  }
  return raw;
}

Visibility PagePool::visibility() const {
  if (netdev_ == 0 || netdev_ == kNetPtrPoison) return Visibility::kInvisible;
  if (netdev_ == kLoopbackIfindex) return Visibility::kOrphaned;
  return Visibility::kNormal;
}

NapiId PagePool::netlink_napi_id(const Machine& m) const {
  if (!m.profile.netlink_napi_id_live) return napi_id_;
  return napi_ptr_ != nullptr && napi_ptr_->id_assigned ? p_.napi : 0;
}

std::optional<IfIndex> PagePool::netlink_ifindex() const {
  if (visibility() != Visibility::kNormal) return std::nullopt;
  return netdev_;
}

// page_pool_napi_local (docs/kernel/page-pool.md §3.4): softirq, and the current CPU is the pool's
// cpuid or the list_owner of its NAPI. (CONFIG_PREEMPT_RT is off.)
bool PagePool::NapiLocal(const Machine& m) const {
  if (m.ctx.kind != CtxKind::kSoftirq) return false;
  if (cpuid_ == m.ctx.cpu) return true;
  return napi_ptr_ != nullptr && napi_ptr_->list_owner == m.ctx.cpu;
}

// 6.4..6.9 (8c48eea3adf3, napi_pp_put_page): the skb path recycles directly when napi_safe, or
// in softirq (4a36d0180c45), and the pool's NAPI is being polled on this CPU. Before, never;
// from 6.10 PutUnrefed asks NapiLocal for everyone.
bool PagePool::SkbMayRecycleDirect(const Machine& m) const {
  if (m.profile.direct_recycle_rule != DirectRecycleRule::kSkbNapiSafe) return false;
  if (!m.skb_free_napi_safe && m.ctx.kind != CtxKind::kSoftirq) return false;
  return napi_ptr_ != nullptr && napi_ptr_->list_owner == m.ctx.cpu;
}

// page_pool_update_nid (docs/kernel/page-pool.md §3.7): set the node and release everything in the
// alloc cache; ring pages are waived lazily at refill.
void PagePool::UpdateNid(Machine& m, int32_t nid) {
  p_.nid = nid;  // unconditionally: only page_pool_nid_changed compares first
  m.digest.Mix(DigestTag::kPagePoolUpdateNid, static_cast<uint32_t>(nid));
  while (cache_count_ > 0) ReturnPage(m, cache_[--cache_count_]);
}

// docs/kernel/page-pool.md §3.8. Since dd64b232deb8 (6.4) the pool and its NAPI are unlinked only
// once the NAPI is disabled: an enabled NAPI trips WARN_ON(!NAPI_STATE_SCHED) when idle and
// WARN_ON(list_owner != -1) while polled, one or the other (net/core/dev.c,
// page_pool_disable_direct_recycling; the oracle sees it on 6.12.95 and 7.3.4, destroy included).
void PagePool::DisableDirectRecycling(Machine& m) {
  if (m.profile.has_disable_direct_recycling && napi_ptr_ != nullptr && napi_ptr_->enabled) {
    m.Log(LogLevel::kWarn,
          absl::StrCat("WARNING: page_pool_disable_direct_recycling: pool ", id_, "'s NAPI ",
                       p_.napi,
                       napi_ptr_->list_owner >= 0
                           ? absl::StrCat(" is being polled on CPU ", napi_ptr_->list_owner)
                           : std::string(" is still enabled"),
                       ": napi_disable must come first"),
          id_);
  }
  cpuid_ = -1;
  p_.napi = 0;
  napi_ptr_ = nullptr;
  m.digest.Mix(DigestTag::kPagePoolDisableDirectRecycling, id_);
}

absl::Status PagePool::EnableDirectRecycling(Machine& m, NapiId napi) {
  if (!m.napis.contains(napi)) {
    return absl::NotFoundError(absl::StrCat("napi: NAPI ", napi, " does not exist"));
  }
  if (p_.napi != 0 && p_.napi != napi) {
    m.Log(LogLevel::kWarn,
          absl::StrCat("WARNING: page_pool_enable_direct_recycling: pool ", id_,
                       " already linked to NAPI ", p_.napi),
          id_);
    return absl::OkStatus();
  }
  p_.napi = napi;
  napi_id_ = napi;
  napi_ptr_ = &FindOrDie(m.napis, napi, "NAPI");
  m.digest.Mix(DigestTag::kPagePoolEnableDirectRecycling, napi);
  return absl::OkStatus();
}

void PagePool::Orphan(Machine& m) {
  if (state_ == PoolState::kFreed || visibility() != Visibility::kNormal) return;
  netdev_ = kLoopbackIfindex;
  // page_pool_unreg_netdev splices the whole list in front of lo's; the caller orphans the
  // netdev's pools oldest first, so fresh numbers keep their order ahead of lo's own.
  list_seq_ = ++m.next_list_seq;
  m.Notify(EventKind::kPoolChange, id_,
           absl::StrCat("page-pool-change-ntf id ", id_, ": netdev unregistered, orphaned to lo"));
}

// The namespace is being dismantled: the pool is unlisted with NET_PTR_POISON and nobody is
// left to notify (page_pool_user.c's netns wipe sends no ntf).
void PagePool::MakeInvisible(Machine& m) {
  if (state_ == PoolState::kFreed) return;
  netdev_ = kNetPtrPoison;
  m.digest.Mix(DigestTag::kPagePoolUnlist, id_);
}

absl::Status PagePool::CheckInvariants(const Machine& m) const {
  const auto broken = [&](auto... what) {
    return absl::InternalError(absl::StrCat("ppsim invariant broken: pool ", id_, ": ", what...));
  };
  if (cache_count_ > PP_ALLOC_CACHE_SIZE) return broken("alloc cache count ", cache_count_);
  if (ring_count_ > ring_.size()) {
    return broken("ring count ", ring_count_, " beyond its size ", ring_.size());
  }
  if (!ring_.empty() && ring_head_ >= ring_.size()) return broken("ring head ", ring_head_);
  for (uint32_t i = 0; i < cache_count_; ++i) {
    if (!m.memory.Valid(cache_[i])) return broken("alloc cache slot ", i, " holds pfn ", cache_[i]);
  }
  for (uint32_t i = 0; i < ring_count_; ++i) {
    const Pfn pfn = ring_[(ring_head_ + i) % ring_.size()];
    if (!m.memory.Valid(pfn)) return broken("ring slot ", i, " holds pfn ", pfn);
  }
  if (frag_page_ != Memory::kNoPfn && !m.memory.Valid(frag_page_)) {
    return broken("frag page ", frag_page_);
  }
  return absl::OkStatus();
}

}  // namespace ppsim::sim
