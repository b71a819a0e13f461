// Op handlers: page_pool control, allocation and return.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/dma_api.h"
#include "server/sim/lab.h"

namespace ppsim::sim {

namespace {
absl::Status NidArg(const Machine& m, int32_t nid, absl::string_view field = "nid") {
  if (nid < kNumaNoNode || nid >= static_cast<int32_t>(m.memory.numa_nodes())) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", nid, " must be -1 (NUMA_NO_NODE) or 0..",
                                                   m.memory.numa_nodes() - 1));
  }
  return absl::OkStatus();
}
absl::Status NotFreed(const PagePool& pool, absl::string_view op) {
  if (pool.state() != PoolState::kFreed) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("pool: ", pool.id(), " was freed; ", op, " needs a live pool"));
}
}  // namespace

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolCreate& o) {
  PagePoolParams p;
  p.flags = o.flags;
  p.order = o.order;
  p.pool_size = o.pool_size;
  p.nid = o.nid;
  p.dev = o.device;
  p.napi = o.napi;
  p.dma_dir = o.dma_dir;
  p.max_len = o.max_len;
  p.offset = o.offset;
  p.netdev = o.netdev;
  p.strategy = o.strategy;
  if (o.device != 0) {
    if (absl::StatusOr<Device*> d = DeviceArg(o.device); !d.ok()) return d.status();
  }
  if (o.netdev != 0 && o.netdev != kLoopbackIfindex && m_->DeviceOfNetdev(o.netdev) == nullptr) {
    return absl::NotFoundError(absl::StrCat("netdev: ifindex ", o.netdev, " is not registered"));
  }
  if (absl::Status s = NidArg(*m_, o.nid); !s.ok()) return s;
  absl::StatusOr<PagePool*> pool = PagePool::Create(*m_, p);
  if (!pool.ok()) return pool.status();
  return OpResult{.pool = (*pool)->id()};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolDestroy& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (!PoolFreed(**pool, std::nullopt, "page_pool_destroy")) (*pool)->Destroy(*m_);
  return OpResult{.pool = o.pool};
}

absl::StatusOr<OpResult> Lab::Do(const op::XdpRegMemModel& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (absl::Status s = NotFreed(**pool, "xdp_reg_mem_model"); !s.ok()) return s;
  (*pool)->UseXdpMem();
  m_->digest.Mix(DigestTag::kXdpRegMemModel, o.pool);
  return OpResult{.pool = o.pool};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolDisableDirectRecycling& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (!m_->profile.has_disable_direct_recycling) {
    return absl::UnimplementedError(absl::StrCat(
        "page_pool_disable_direct_recycling: kernel profile ", m_->profile.name,
        " predates it (dd64b232deb8, 6.4)"));
  }
  if (absl::Status s = NotFreed(**pool, "page_pool_disable_direct_recycling"); !s.ok()) return s;
  (*pool)->DisableDirectRecycling(*m_);
  return OpResult{.pool = o.pool};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolEnableDirectRecycling& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (absl::Status s = NotFreed(**pool, "page_pool_enable_direct_recycling"); !s.ok()) return s;
  if (absl::Status s = (*pool)->EnableDirectRecycling(*m_, o.napi); !s.ok()) return s;
  return OpResult{.pool = o.pool};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolUpdateNid& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (absl::Status s = NidArg(*m_, o.nid); !s.ok()) return s;
  if (absl::Status s = NotFreed(**pool, "page_pool_update_nid"); !s.ok()) return s;
  (*pool)->UpdateNid(*m_, o.nid);
  return OpResult{.pool = o.pool};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolAllocPages& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (o.count == 0 || o.count > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("count: ", o.count, " must be in 1..65536"));
  }
  OpResult r{.pool = o.pool};
  if (PoolFreed(**pool, std::nullopt, "page_pool_alloc_pages")) return r;
  for (uint32_t i = 0; i < o.count; ++i) {
    std::optional<Pfn> pfn = (*pool)->AllocPages(*m_);
    if (!pfn) break;  // NULL: the driver would stop refilling here
    r.pages.push_back(Ref(*pfn));
  }
  return r;
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolAllocFrag& o) {
  absl::StatusOr<PagePool*> pool = PoolArg(o.pool);
  if (!pool.ok()) return pool.status();
  if (o.size == 0 || o.size > (kPageSize << Memory::kMaxOrder)) {
    return absl::InvalidArgumentError(
        absl::StrCat("size: ", o.size, " must be in 1..", kPageSize << Memory::kMaxOrder));
  }
  OpResult r{.pool = o.pool};
  if (PoolFreed(**pool, std::nullopt, "page_pool_alloc_frag")) return r;
  uint32_t offset = 0;
  if (std::optional<Pfn> pfn = (*pool)->AllocFrag(*m_, o.size, &offset)) {
    r.pages.push_back(Ref(*pfn, offset));
  }
  return r;
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolPutPage& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  PagePool* pool = nullptr;
  if (o.pool != 0) {
    absl::StatusOr<PagePool*> p = PoolArg(o.pool);
    if (!p.ok()) return p.status();
    pool = *p;
  }
  const Pfn pfn = o.page.pfn;
  // The driver hands the page to the pool it names: a freed pool is a use-after-free whatever
  // the page looks like (e.g. after release-on-destroy cleared the signature).
  if (pool != nullptr && PoolFreed(*pool, pfn, "page_pool_put_page")) return OpResult{};
  Frame* f = m_->ResolvePage(o.page, "page_pool_put_page");
  if (f == nullptr) return OpResult{};
  if (pool == nullptr) pool = m_->FindPool(f->pool);  // page->pp
  if (pool == nullptr || !m_->IsPpPage(*f)) {
    m_->Violate(ViolationId::kPP016,
                absl::StrFormat("page_pool_put_page on pfn 0x%x, which is not a page_pool page "
                                "(no signature; page->pp is %d)",
                                pfn, f->pool),
                {.pfn = pfn, .pool = pool ? pool->id() : 0});
    return OpResult{};
  }
  if (PoolFreed(*pool, pfn, "page_pool_put_page")) return OpResult{};
  if (f->pool != pool->id()) {
    m_->Violate(ViolationId::kPP016,
                absl::StrFormat("pfn 0x%x of pool %d returned to pool %d", pfn, f->pool, pool->id()),
                {.pfn = pfn, .pool = pool->id()});
    return OpResult{};
  }
  pool->PutPage(*m_, pfn, o.dma_sync_size, o.allow_direct);
  return OpResult{.pool = pool->id()};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolPutPageBulk& o) {
  if (o.pages.empty() || o.pages.size() > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("pages: ", o.pages.size(), " pages; a bulk return takes 1..4096"));
  }
  for (size_t i = 0; i < o.pages.size(); ++i) {
    if (absl::Status s = PageArg(o.pages[i], absl::StrCat("pages[", i, "]")); !s.ok()) return s;
  }
  // Group by owning pool, keeping first-seen order (page_pool_put_netmem_bulk).
  std::vector<std::pair<PagePool*, std::vector<Pfn>>> groups;
  for (const PageHandle& h : o.pages) {
    Frame* f = m_->ResolvePage(h, "page_pool_put_page_bulk");
    if (f == nullptr) continue;
    PagePool* pool = m_->IsPpPage(*f) ? m_->FindPool(f->pool) : nullptr;
    if (pool == nullptr) {
      m_->Violate(ViolationId::kPP016,
                  absl::StrFormat("bulk return of pfn 0x%x, which is not a page_pool page", h.pfn),
                  {.pfn = h.pfn});
      continue;
    }
    if (PoolFreed(*pool, h.pfn, "page_pool_put_page_bulk")) continue;
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.first == pool; });
    if (it == groups.end()) {
      groups.push_back({pool, {h.pfn}});
    } else {
      it->second.push_back(h.pfn);
    }
  }
  for (auto& [pool, pfns] : groups) pool->PutPagesBulk(*m_, pfns);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::PagePoolRefPage& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  Frame* f = m_->ResolvePage(o.page, "page_pool_ref_page");
  if (f == nullptr) return OpResult{};
  // skb_pp_frag_ref: a pp reference for pp pages, a page reference for the rest.
  PagePool* pool = m_->IsPpPage(*f) ? m_->FindPool(f->pool) : nullptr;
  if (pool != nullptr) {
    pool->RefPage(*m_, o.page.pfn);
  } else {
    m_->GetPage(o.page.pfn, *f);
  }
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::NapiPpPutPage& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  Frame* f = m_->ResolvePage(o.page, "napi_pp_put_page");
  if (f == nullptr) return OpResult{};
  // napi_pp_put_page: the signature test on the head page, else a plain put_page (§3.3).
  if (m_->IsPpPage(*f)) {
    if (PagePool* pool = m_->FindPool(f->pool)) {
      if (!PoolFreed(*pool, o.page.pfn, "napi_pp_put_page")) {
        pool->PutPage(*m_, o.page.pfn, -1, false);
      }
      return OpResult{.pool = pool->id()};
    }
  }
  m_->PutPage(o.page.pfn, *f);
  return OpResult{};
}

absl::StatusOr<OpResult> Lab::Do(const op::DmaSyncForCpu& o) {
  if (absl::Status s = PageArg(o.page); !s.ok()) return s;
  const Frame* peek = m_->memory.Peek(o.page.pfn);
  PagePool* pool = m_->FindPool(peek->pool);
  if (pool == nullptr || !pool->dma_map()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "page: pfn 0x%x is not a DMA-mapped page_pool page; page_pool_dma_sync_for_cpu needs the "
        "pool's device",
        o.page.pfn));
  }
  if (o.len == 0 || o.len > pool->page_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("len: ", o.len, " must be in 1..", pool->page_bytes()));
  }
  Frame* f = m_->ResolvePage(o.page, "dma_sync_for_cpu");
  if (f == nullptr) return OpResult{};
  if (Device* dev = m_->FindDevice(pool->params().dev)) {
    DmaSync(*m_, *dev, f->dma_addr + pool->params().offset, o.len, pool->params().dma_dir,
            /*for_cpu=*/true, {o.page.pfn, pool->id()});
  }
  return OpResult{.pool = pool->id()};
}

}  // namespace ppsim::sim
