#include "server/sim/lab.h"

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/sim/check.h"
#include "server/sim/invariants.h"

namespace ppsim::sim {

namespace {

// Walks an op's fields for the digest and for printing.
struct FieldPrinter {
  std::string* out;
  template <class T>
  void operator()(absl::string_view name, const T& v) {
    absl::StrAppend(out, " ", name, "=");
    if constexpr (std::is_same_v<T, PageHandle>) {
      absl::StrAppend(out, absl::StrFormat("0x%x/%d", v.pfn, v.generation));
    } else if constexpr (std::is_same_v<T, std::vector<PageHandle>>) {
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StrAppend(out, i ? "," : "", absl::StrFormat("0x%x/%d", v[i].pfn, v[i].generation));
      }
    } else if constexpr (std::is_same_v<T, std::vector<op::FragArg>>) {
      for (size_t i = 0; i < v.size(); ++i) {
        absl::StrAppend(out, i ? "," : "",
                        absl::StrFormat("0x%x/%d+%d:%d", v[i].page.pfn, v[i].page.generation,
                                        v[i].offset, v[i].len));
      }
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      absl::StrAppend(out, absl::StrJoin(v, ","));
    } else if constexpr (std::is_same_v<T, DmaDir>) {
      absl::StrAppend(out, DmaDirName(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      absl::StrAppend(out, "\"", v, "\"");
    } else {
      absl::StrAppend(out, v);
    }
  }
};

struct FieldHasher {
  Digest* d;
  template <class T>
  void operator()(absl::string_view, const T& v) {
    if constexpr (std::is_same_v<T, PageHandle>) {
      d->Mix(v.pfn);
      d->Mix(v.generation);
    } else if constexpr (std::is_same_v<T, std::vector<PageHandle>>) {
      d->Mix(v.size());
      for (const PageHandle& h : v) (*this)("", h);
    } else if constexpr (std::is_same_v<T, std::vector<op::FragArg>>) {
      d->Mix(v.size());
      for (const op::FragArg& f : v) {
        (*this)("", f.page);
        d->Mix(uint64_t{f.offset} << 32 | f.len);
      }
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      d->Mix(v.size());
      for (uint32_t x : v) d->Mix(x);
    } else if constexpr (std::is_same_v<T, std::string>) {
      d->Mix(absl::string_view(v));
    } else if constexpr (std::is_same_v<T, double>) {
      uint64_t bits;
      static_assert(sizeof bits == sizeof v);
      __builtin_memcpy(&bits, &v, sizeof bits);
      d->Mix(bits);
    } else {
      d->Mix(static_cast<uint64_t>(v));
    }
  }
};

}  // namespace

absl::string_view OpName(const OpBody& body) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kName; }, body);
}

std::string OpToString(const Op& op) {
  std::string out(OpName(op.body));
  absl::StrAppend(&out, " @", CtxKindName(op.ctx.kind), ":", op.ctx.cpu);
  std::visit([&](const auto& o) { std::decay_t<decltype(o)>::Fields(o, FieldPrinter{&out}); },
             op.body);
  return out;
}

absl::StatusOr<std::unique_ptr<Lab>> Lab::Create(const LabConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  absl::StatusOr<KernelProfile> profile = config.ResolveProfile();
  if (!profile.ok()) return profile.status();
  return std::unique_ptr<Lab>(new Lab(std::make_unique<Machine>(config, *std::move(profile))));
}

void Lab::MixOp(const Op& op) {
  Digest& d = m_->digest;
  d.Mix(OpName(op.body));
  d.Mix(static_cast<uint64_t>(op.ctx.kind) << 16 | op.ctx.cpu);
  std::visit([&](const auto& o) { std::decay_t<decltype(o)>::Fields(o, FieldHasher{&d}); },
             op.body);
}

absl::StatusOr<OpResult> Lab::Apply(const Op& op) {
  if (op.ctx.cpu >= m_->config.cpus) {
    return absl::InvalidArgumentError(absl::StrCat("ctx.cpu: ", op.ctx.cpu, " but the lab has ",
                                                   m_->config.cpus, " CPUs"));
  }
  m_->op_index = trace_.size();
  m_->ctx = op.ctx;
  m_->op_cost_ns = 0;
  absl::StatusOr<OpResult> r = std::visit([&](const auto& o) { return Do(o); }, op.body);
  if (!r.ok()) return r;
  trace_.push_back(op);
  MixOp(op);
  for (const PageRef& p : r->pages) m_->digest.Mix(p.page.pfn << 20 ^ p.page.generation);
  for (uint32_t id : r->skbs) m_->digest.Mix(DigestTag::kOpResultSkb, id);
  m_->digest.Mix(r->value);
  // surprise_remove is decided after each applied op, for every device with a driver.
  if (m_->faults.armed(FaultSite::kSurpriseRemove)) {
    for (auto& [id, dev] : m_->devices) {
      if (dev->bound() && m_->ShouldFail(FaultSite::kSurpriseRemove,
                                         {.device = id, .ctx = m_->ctx})) {
        // RemoveDevice refuses only a device already removed or removing (which has no
        // driver) and a phb removal (not asked): a refusal here is ppsim's bug.
        const absl::Status s = RemoveDevice(*m_, *dev, /*surprise=*/true);
        PPSIM_CHECK(s.ok(), "surprise_remove of bound device ", id, ": ", s.message());
      }
    }
  }
  // The op's cost moves time; deferred work due by then runs now, in order.
  m_->clock.AdvanceTo(m_->clock.now() + m_->op_cost_ns);
  m_->digest.Mix(static_cast<uint64_t>(m_->clock.now()));
#ifdef PPSIM_CHECK_INVARIANTS
  // Test, fuzz and sanitizer builds (CMake PPSIM_CHECK_INVARIANTS): stop at the op that broke
  // the model, naming it, rather than at whatever later op trips over the damage.
  if (absl::Status s = CheckInvariants(*m_); !s.ok()) {
    std::fprintf(stderr, "%s\n  after op #%zu: %s\n", std::string(s.message()).c_str(),
                 trace_.size() - 1, OpToString(op).c_str());
    std::abort();
  }
#endif
  return r;
}

uint64_t Lab::violation_total() const {
  uint64_t n = 0;
  for (const CatalogEntry& c : ViolationCatalog()) n += m_->violation_count(c.id);
  return n;
}

absl::StatusOr<Device*> Lab::DeviceArg(DeviceId id, absl::string_view field) {
  Device* dev = m_->FindDevice(id);
  if (dev == nullptr) {
    return absl::NotFoundError(absl::StrCat(field, ": device ", id, " does not exist"));
  }
  return dev;
}

absl::StatusOr<PagePool*> Lab::PoolArg(PoolId id, absl::string_view field) {
  PagePool* pool = m_->FindPool(id);
  if (pool == nullptr) {
    return absl::NotFoundError(absl::StrCat(field, ": pool ", id, " does not exist"));
  }
  return pool;
}

absl::Status Lab::PageArg(const PageHandle& h, absl::string_view field) const {
  if (!m_->memory.Valid(h.pfn)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: pfn 0x%x is outside the lab's %d pages", field, h.pfn, m_->memory.num_pages()));
  }
  const Frame* f = m_->memory.Peek(h.pfn);
  if (f == nullptr || (f->generation == 0 && f->is_free())) {
    return absl::NotFoundError(
        absl::StrFormat("%s: pfn 0x%x was never allocated in this lab", field, h.pfn));
  }
  if (h.generation > f->generation) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: generation %d of pfn 0x%x was never handed out (current %d)", field, h.generation,
        h.pfn, f->generation));
  }
  return absl::OkStatus();
}

bool Lab::PoolFreed(PagePool& pool, std::optional<Pfn> pfn, absl::string_view what) {
  if (pool.state() != PoolState::kFreed) return false;
  m_->Violate(ViolationId::kPP015,
              absl::StrFormat("%s into pool %d, which was freed at t=%.6fs: a write into freed "
                              "memory (KASAN: slab-use-after-free)",
                              what, pool.id(), pool.freed_at() / 1e9),
              {.pfn = pfn, .pool = pool.id()});
  return true;
}

PageRef Lab::Ref(Pfn pfn, uint32_t offset) const {
  const Frame* f = m_->memory.Peek(pfn);
  return PageRef{PageHandle{pfn, f->generation}, offset, f->dma_addr};
}

PoolInfo Lab::Info(const PagePool& pool) const {
  PoolInfo i;
  i.id = pool.id();
  i.ifindex = pool.netlink_ifindex();
  i.napi_id = pool.netlink_napi_id(*m_);
  i.inflight = pool.inflight_nonstrict();
  i.inflight_strict = pool.inflight();
  i.inflight_mem = i.inflight * pool.page_bytes();
  i.detach_time = pool.detach_time();
  i.state = pool.state();
  i.visibility = pool.visibility();
  i.strategy = std::string(pool.strategy().name());
  i.device = pool.params().dev;
  i.netdev = pool.params().netdev;
  i.hold_cnt = pool.hold_cnt();
  i.release_cnt = pool.release_cnt();
  i.cache_count = pool.cache_count();
  i.ring_count = pool.ring_count();
  i.ring_size = pool.ring_size();
  i.user_cnt = pool.user_cnt();
  i.alloc = pool.alloc_stats();
  i.recycle = pool.recycle_stats();
  i.costs = pool.strategy().costs();
  if (pool.detach_time()) i.detached_at = pool.defer_start();
  i.freed_at = pool.freed_at();
  const Device* d = m_->FindDevice(pool.params().dev);
  if (d != nullptr && d->removal_started >= 0) {
    const Nanos done = d->removal_finished >= 0 ? d->removal_finished : m_->clock.now();
    i.device_removal_wait = done - d->removal_started;
  }
  return i;
}

std::vector<PoolInfo> Lab::ListPools() const {
  std::vector<PoolInfo> out;
  for (const auto& [id, pool] : m_->pools) {
    if (pool->state() != PoolState::kFreed && pool->visibility() != Visibility::kInvisible) {
      out.push_back(Info(*pool));
    }
  }
  return out;
}

std::vector<PoolInfo> Lab::NetlinkDump() const {
  std::vector<const PagePool*> listed;
  for (const auto& [id, pool] : m_->pools) {
    if (pool->state() != PoolState::kFreed && pool->visibility() != Visibility::kInvisible) {
      listed.push_back(pool.get());
    }
  }
  std::sort(listed.begin(), listed.end(), [](const PagePool* a, const PagePool* b) {
    if (a->list_netdev() != b->list_netdev()) return a->list_netdev() < b->list_netdev();
    return a->list_seq() > b->list_seq();
  });
  std::vector<PoolInfo> out;
  IfIndex netdev = 0;
  PoolId last = 0;  // the dump state's pp_id, reset per netdev
  for (const PagePool* pool : listed) {
    if (pool->list_netdev() != netdev) {
      netdev = pool->list_netdev();
      last = 0;
    }
    if (last != 0 && last < pool->id()) continue;
    last = pool->id();
    out.push_back(Info(*pool));
  }
  return out;
}

std::vector<PoolInfo> Lab::AllPools() const {
  std::vector<PoolInfo> out;
  for (const auto& [id, pool] : m_->pools) out.push_back(Info(*pool));
  return out;
}

absl::StatusOr<PoolInfo> Lab::GetPool(PoolId id) const {
  auto it = m_->pools.find(id);
  if (it == m_->pools.end()) {
    return absl::NotFoundError(absl::StrCat("pool: pool ", id, " does not exist"));
  }
  return Info(*it->second);
}

absl::StatusOr<PageInfo> Lab::GetPage(Pfn pfn) const {
  if (!m_->memory.Valid(pfn)) {
    return absl::InvalidArgumentError(absl::StrFormat("pfn: 0x%x is outside the lab's %d pages",
                                                      pfn, m_->memory.num_pages()));
  }
  PageInfo i;
  i.pfn = pfn;
  i.node = m_->memory.NodeOf(pfn);
  const Frame* f = m_->memory.Peek(pfn);
  if (f == nullptr) return i;
  i.state = f->state;
  i.generation = f->generation;
  i.refcount = f->refcount;
  i.pp_ref_count = f->pp_ref_count;
  const bool free = f->is_free();
  i.pp_magic = free ? 0 : f->pp_magic;
  i.is_pp = !free && m_->IsPpPage(*f);
  i.pool = f->pool;
  i.dma_addr = free ? 0 : f->dma_addr;
  i.pfmemalloc = f->pfmemalloc();
  i.order = f->order;
  i.history = m_->page_events.History(f->last_event, 16);
  return i;
}

absl::StatusOr<DeviceInfo> Lab::GetDevice(DeviceId id) const {
  auto it = m_->devices.find(id);
  if (it == m_->devices.end()) {
    return absl::NotFoundError(absl::StrCat("device: device ", id, " does not exist"));
  }
  return Info(*it->second);
}

std::vector<DeviceInfo> Lab::AllDevices() const {
  std::vector<DeviceInfo> out;
  for (const auto& [id, device] : m_->devices) out.push_back(Info(*device));
  return out;
}

DeviceInfo Lab::Info(const Device& d) const {
  DeviceInfo i;
  i.id = d.id;
  i.name = d.name;
  i.state = d.state;
  i.ifindex = d.ifindex;
  i.up = d.up;
  i.rx_pools = d.rx_pools;
  i.napis = d.napis;
  i.mapped = d.domain.mapped_count();
  i.mapped_pages = d.domain.mapped_pages();
  i.dma_debug_pending = d.dma_debug.pending();
  if (d.removal_finished >= 0) i.removal_latency = d.removal_finished - d.removal_started;
  i.iommu_faults = d.iommu_faults;
  return i;
}

absl::StatusOr<ReplayResult> Replay(const LabConfig& config, const std::vector<Op>& ops,
                                    uint64_t expected, const ReplayGuard& before_op) {
  absl::StatusOr<std::unique_ptr<Lab>> lab = Lab::Create(config);
  if (!lab.ok()) return lab.status();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (before_op) {
      if (absl::Status s = before_op(**lab, i); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("trace: replay stopped before op #", i, ": ",
                                                   s.message()));
      }
    }
    if (absl::StatusOr<OpResult> r = (*lab)->Apply(ops[i]); !r.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trace: op #", i, " (", OpToString(ops[i]), ") was rejected on replay: ",
          r.status().message()));
    }
  }
  return ReplayResult{(*lab)->digest(), ops.size(), (*lab)->digest() == expected};
}

}  // namespace ppsim::sim
