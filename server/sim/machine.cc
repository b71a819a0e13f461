#include "server/sim/machine.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/device.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

Machine::Machine(const LabConfig& config, KernelProfile profile)
    : config(config),
      profile(std::move(profile)),
      memory(config.ram_bytes / kPageSize, config.numa_nodes),
      prng(config.seed),
      page_events(config.page_event_log_capacity),
      pp_magic_mask_(this->profile.PpMagicMask()),
      pp_signature_(this->profile.PpSignature()) {}

Machine::~Machine() = default;

Device* Machine::FindDevice(DeviceId id) {
  auto it = devices.find(id);
  return it == devices.end() ? nullptr : it->second.get();
}

PagePool* Machine::FindPool(PoolId id) {
  auto it = pools.find(id);
  return it == pools.end() ? nullptr : it->second.get();
}

Device* Machine::DeviceOfNetdev(IfIndex ifindex) {
  for (auto& [id, dev] : devices) {
    if (dev->ifindex == ifindex && dev->driver) return dev.get();
  }
  return nullptr;
}

Frame* Machine::ResolvePage(const PageHandle& h, absl::string_view what) {
  if (!memory.Valid(h.pfn)) return nullptr;
  Frame& f = memory.Touch(h.pfn);
  if (f.is_free()) {
    Violate(ViolationId::kPP010,
            absl::StrFormat("%s on pfn 0x%x, which is free in the page allocator", what, h.pfn),
            {.pfn = h.pfn, .pool = f.pool});
    return nullptr;
  }
  if (f.state == FrameState::kTail) {
    Violate(ViolationId::kPP010,
            absl::StrFormat("%s on pfn 0x%x, a tail page of another allocation", what, h.pfn),
            {.pfn = h.pfn});
    return nullptr;
  }
  if (f.generation != h.generation) {
    if (f.pool_owned()) {
      Violate(ViolationId::kPP007,
              absl::StrFormat("%s through a stale reference (generation %d): pool %d recycled "
                              "the page and handed it out again (now generation %d, %s)",
                              what, h.generation, f.pool, f.generation, FrameStateName(f.state)),
              {.pfn = h.pfn, .pool = f.pool});
    } else {
      Violate(ViolationId::kPP010,
              absl::StrFormat("%s through a stale reference (generation %d): the page went back "
                              "to the allocator and was reallocated (now generation %d)",
                              what, h.generation, f.generation),
              {.pfn = h.pfn});
    }
  }
  return &f;
}

std::optional<Pfn> Machine::AllocPages(int nid, uint32_t order, const FaultTarget& target) {
  if (ShouldFail(FaultSite::kFailPageAlloc, target, std::nullopt, kPageSize << order)) {
    return std::nullopt;
  }
  std::optional<Pfn> pfn = memory.Alloc(nid < 0 ? LocalNode() : static_cast<uint32_t>(nid), order);
  if (!pfn) return std::nullopt;
  Frame& f = memory.At(*pfn);
  if (memory_pressure) f.flags |= kFramePfmemalloc;
  RecordPage(*pfn, f, PageEventKind::kBuddyAlloc, order);
  return pfn;
}

uint32_t Machine::AllocPagesBulk(int nid, uint32_t n, const FaultTarget& target, Pfn* out) {
  // One decision per bulk call: the fault fires in prepare_alloc_pages, before the loop.
  if (ShouldFail(FaultSite::kFailPageAlloc, target, std::nullopt, kPageSize * n)) return 0;
  const uint32_t got =
      memory.AllocBulk(nid < 0 ? LocalNode() : static_cast<uint32_t>(nid), n, out);
  for (uint32_t i = 0; i < got; ++i) {
    Frame& f = memory.At(out[i]);
    if (memory_pressure) f.flags |= kFramePfmemalloc;
    RecordPage(out[i], f, PageEventKind::kBuddyAlloc, 0);
  }
  return got;
}

void Machine::GetPage(Pfn pfn, Frame& f) {
  if ((f.flags & kFrameFreedUnchecked) != 0 && f.refcount <= 0) {
    // get_page on a page already back on the free lists: without DEBUG_VM nothing stops the
    // increment (include/linux/mm.h get_page: the VM_BUG_ON_PAGE needs CONFIG_DEBUG_VM).
    Violate(ViolationId::kPP010,
            absl::StrFormat("get_page on pfn 0x%x, which this kernel already freed to the page "
                            "allocator (its last put_page while its pool counted it in flight)",
                            pfn),
            {.pfn = pfn});
  }
  ++f.refcount;
  RecordPage(pfn, f, PageEventKind::kGetPage, static_cast<uint64_t>(f.refcount));
}

void Machine::PutPage(Pfn pfn, Frame& f) {
  if (f.refcount <= 0) {
    Violate(ViolationId::kPP009,
            absl::StrFormat("put_page on pfn 0x%x with _refcount %d (page dumped because: "
                            "nonzero _refcount)", pfn, f.refcount),
            {.pfn = pfn, .pool = f.pool});
    return;  // the model keeps its own invariant: a free page is not freed twice
  }
  --f.refcount;
  RecordPage(pfn, f, PageEventKind::kPutPage, static_cast<uint64_t>(f.refcount));
  if (f.refcount > 0) return;
  if ((f.flags & kFrameFreedUnchecked) != 0) {
    // The second __free_pages of one page: the buddy allocator's lists would be corrupt. The
    // model reports it and keeps the frame off its own lists (it never left the kernel's).
    Violate(ViolationId::kPP010,
            absl::StrFormat("put_page frees pfn 0x%x a second time: this kernel freed it to the "
                            "page allocator before, and a reference taken on the free page since "
                            "is now dropped (a double free)", pfn),
            {.pfn = pfn});
    return;
  }
  if (IsPpPage(f) && !profile.free_checks_pages) {
    // No page checks on this free (6.1 without DEBUG_VM): the kernel puts the page back on the
    // free lists with no word printed, its pp_magic overwritten by the list link, while the
    // pool still counts it in flight and, under legacy, keeps its DMA mapping. The model clears
    // the signature and page->pp as the link does but keeps the frame out of its own free lists: the pool
    // (a DMA-tracking scrub, its frag page) may still write to it, which in the model must not
    // corrupt a free list (lab_ops_fuzzer found that). The checker reports the hazard.
    Violate(ViolationId::kPP011,
            absl::StrFormat("pfn 0x%x freed to the page allocator with the page_pool signature "
                            "still set; this kernel does not check pages on free, so it goes "
                            "back to the free lists silently while pool %d counts it in flight%s",
                            pfn, f.pool, f.dma_addr != 0 ? " and it is still DMA-mapped" : ""),
            {.pfn = pfn, .pool = f.pool});
    f.pp_magic = 0;  // lru.next and lru.prev, where pp_magic and pp live, are the list's now
    f.pool = 0;
    f.flags |= kFrameFreedUnchecked;
    return;
  } else if (IsPpPage(f)) {
    // mm's free-path check (docs/kernel/page-pool.md §1.2, §9.5). bad_page() takes the page out of
    // circulation instead of freeing it, so it never reaches the free lists; the pool's
    // inflight stays raised and any pointer the pool still has stays valid.
    Log(LogLevel::kCrit,
        absl::StrFormat("BUG: Bad page state: pfn:%x ... page dumped because: page_pool leak",
                        pfn),
        f.pool);
    Violate(ViolationId::kPP011,
            absl::StrFormat("pfn 0x%x freed to the page allocator with the page_pool signature "
                            "still set (%s of pool %d, which never saw it return: its inflight "
                            "stays raised); bad_page() leaks the page",
                            pfn, FrameStateName(f.state), f.pool),
            {.pfn = pfn, .pool = f.pool});
    return;
  }
  if (!unpublished_at.empty()) CheckGracePeriodAtFree(*this, pfn);
  RecordPage(pfn, f, PageEventKind::kBuddyFree, 0);
  f.pp_magic = 0;
  f.dma_addr = 0;
  f.pp_ref_count = 0;
  memory.Free(pfn);
}

void Machine::RecordPage(Pfn pfn, Frame& f, PageEventKind kind, uint64_t aux, PoolId pool) {
  if (!config.page_history) {
    digest.Mix(((pfn << 8) ^ static_cast<uint64_t>(kind)) * 0x9e3779b97f4a7c15ULL ^ aux ^
               (uint64_t{pool ? pool : f.pool} << 40));
    return;
  }
  PageEvent e;
  e.time = clock.now();
  e.op_index = op_index;
  e.aux = aux;
  e.pfn = pfn;
  e.pool = pool ? pool : f.pool;
  e.kind = kind;
  e.ctx = ctx.kind;
  e.cpu = ctx.cpu;
  page_events.Append(f.last_event, e);
  digest.Mix(((pfn << 8) ^ static_cast<uint64_t>(kind)) * 0x9e3779b97f4a7c15ULL ^ aux ^
             (uint64_t{e.pool} << 40));
}

void Machine::Log(LogLevel level, std::string text, PoolId pool, DeviceId device) {
  digest.Mix(text);
  events.Append(Event{.time = clock.now(), .op_index = op_index, .kind = EventKind::kKernelLog,
                      .level = level, .pool = pool, .device = device, .text = std::move(text)});
}

void Machine::Notify(EventKind kind, PoolId pool, std::string text) {
  digest.Mix(uint64_t{pool} << 8 | static_cast<uint64_t>(kind));
  events.Append(Event{.time = clock.now(), .op_index = op_index, .kind = kind,
                      .level = LogLevel::kInfo, .pool = pool, .text = std::move(text)});
}

void Machine::Violate(ViolationId id, std::string message, const ViolationContext& where) {
  const CatalogEntry& c = CatalogOf(id);
  Violation v;
  v.id = id;
  v.severity = where.severity.value_or(c.severity);
  v.op_index = op_index;
  v.time = clock.now();
  v.pfn = where.pfn;
  v.pool = where.pool;
  v.device = where.device;
  v.message = std::move(message);
  if (where.pool != 0) {
    if (PagePool* pool = FindPool(where.pool)) v.strategy = std::string(pool->strategy().name());
  }
  if (where.pfn && memory.Valid(*where.pfn)) {
    Frame& f = memory.Touch(*where.pfn);
    RecordPage(*where.pfn, f, PageEventKind::kViolation, static_cast<uint64_t>(id), where.pool);
    v.history = page_events.History(f.last_event, 16);
    v.faults = page_events.Collect(
        f.last_event, [](const PageEvent& e) { return e.kind == PageEventKind::kFault; }, 16);
  }
  digest.Mix(static_cast<uint64_t>(id) << 56 | static_cast<uint64_t>(v.severity) << 48);
  ++counts_[static_cast<int>(id) - 1];
  ++by_strategy_[{id, v.strategy}];
  events.Append(Event{.time = v.time, .op_index = op_index, .kind = EventKind::kViolation,
                      .level = v.severity == Severity::kCrash ? LogLevel::kCrit : LogLevel::kWarn,
                      .pool = v.pool, .device = v.device,
                      .text = absl::StrCat(c.code, " ", c.name, ": ", v.message)});
  if (violations_.size() < config.max_violation_records) {
    violations_.push_back(std::move(v));
  } else {
    ++violations_dropped_;
  }
}

bool Machine::ShouldFail(FaultSite site, const FaultTarget& target, std::optional<Pfn> pfn,
                         uint64_t size) {
  if (!faults.armed(site)) return false;
  const FaultDecision d = faults.Decide(site, target, prng, size);
  if (!d.evaluated) return false;
  digest.Mix(static_cast<uint64_t>(site) << 1 | (d.fire ? 1 : 0));
  const FaultSiteInfo& info = FaultSiteOf(site);
  events.Append(Event{.time = clock.now(), .op_index = op_index, .kind = EventKind::kFault,
                      .level = d.fire ? LogLevel::kWarn : LogLevel::kDebug,
                      .pool = target.pool, .device = target.device,
                      .text = absl::StrCat(info.name, d.fire ? ": injected" : ": not injected")});
  if (pfn && memory.Valid(*pfn)) {
    Frame& f = memory.Touch(*pfn);
    RecordPage(*pfn, f, PageEventKind::kFault,
               static_cast<uint64_t>(site) << 1 | (d.fire ? 1 : 0), target.pool);
  }
  return d.fire;
}

}  // namespace ppsim::sim
