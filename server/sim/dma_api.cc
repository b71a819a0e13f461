#include "server/sim/dma_api.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/device.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::sim {

namespace {

// The kernel's words for a call into a freed domain (docs/kernel/page-pool.md §4.4; the oracle's
// edu and pseries rigs saw both on 6.1.176).
std::string TeardownCrashText(const Device& dev, absl::string_view call) {
  if (dev.domain.model() == IommuModel::kPpcDdw) {
    return absl::StrCat(call, " after DLPAR removal freed the ",
                        dev.phb_removed ? "PHB's default TCE window" : "device's DDW",
                        ": tce_freemulti_pSeriesLP: plpar_tce_stuff failed (rc -4), then "
                        "BUG: Unable to handle kernel data access in __bitmap_clear <- "
                        "__iommu_free <- iommu_unmap_page");
  }
  return absl::StrCat(call, " after device_del freed the IOMMU group and domain: "
                      "BUG: kernel NULL pointer dereference in iommu_get_dma_domain <- "
                      "iommu_dma_unmap_page");
}

// Whether a call after device_del still reaches iommu-dma, which dereferences the device's
// IOMMU group (gone with the device), or is dma-direct's, which for an unmap with
// DMA_ATTR_SKIP_CPU_SYNC (page_pool's) does nothing (kernel/dma/direct.h:dma_direct_unmap_page).
bool StillIommuDma(IommuReleaseRule rule, IommuModel model) {
  switch (rule) {
    case IommuReleaseRule::kDriverOps:
      // 6.1 drivers/iommu/intel/iommu.c:intel_iommu_release_device ends with
      // set_dma_ops(dev, NULL); amd_iommu_release_device and arm_smmu_release_device leave
      // iommu_dma_ops in place.
      return model != IommuModel::kIntel;
    case IommuReleaseRule::kDmaIommuKept:
      return true;  // b5c58b2fdc42: dev->dma_iommu, set at probe, cleared by nobody
    case IommuReleaseRule::kDmaIommuCleared:
      return false;  // 280e5a301005: iommu_deinit_device clears dev->dma_iommu
  }
  return true;
}

std::string ReleasedToDirectText(const Machine& m, const Device& dev, absl::string_view call) {
  const bool intel_ops = m.profile.iommu_release_rule == IommuReleaseRule::kDriverOps;
  return absl::StrCat(call, " for removed device ", dev.name, ": ",
                      intel_ops ? "intel_iommu_release_device cleared its DMA ops"
                                : "iommu_release_device cleared dev->dma_iommu (280e5a301005)",
                      ", so the call went to dma-direct and did nothing; the IOVA died with the "
                      "domain (no crash, but the driver used a device it no longer has)");
}

// Returns false when the call must not touch the domain (it is freed).
bool CheckLifecycle(Machine& m, Device& dev, absl::string_view call, const DmaCaller& caller) {
  const Machine::ViolationContext where{.pfn = caller.pfn, .pool = caller.pool,
                                        .device = dev.id};
  switch (dev.state) {
    case DeviceState::kBound:
      if (caller.pool != 0) {
        const PagePool* pool = m.FindPool(caller.pool);
        if (pool != nullptr && pool->bind_generation() != dev.bind_generation) {
          // docs/kernel/page-pool.md §4.4: the domain was reattached to a new driver; the late call
          // tears down or syncs someone else's mapping space.
          m.Violate(ViolationId::kPP002,
                    absl::StrCat(call, " for device ", dev.name, " by pool ", caller.pool,
                                 " of a driver that already unbound; the device is now bound to "
                                 "another driver, whose IOVA space this call touches"),
                    where);
        }
      }
      return true;
    case DeviceState::kRemoved:
      if (!dev.domain.translated()) {
        m.Violate(ViolationId::kPP002,
                  absl::StrCat(call, " for removed device ", dev.name,
                               " (dma-direct: harmless here, but the device is gone)"),
                  where);
        return false;
      }
      if (!dev.domain.freed()) {
        // pseries, default window, PHB kept: the TCE table lives on the PHB node and the call
        // reaches it as before (the oracle's pseries rig: clean on 6.1.176).
        m.Violate(ViolationId::kPP002,
                  absl::StrCat(call, " for removed device ", dev.name,
                               ": the PHB's default TCE window outlives the device, so the call "
                               "still reaches its table (no crash)"),
                  where);
        return true;
      }
      if (dev.domain.iommu_dma() && !StillIommuDma(m.profile.iommu_release_rule,
                                                   dev.domain.model())) {
        m.Violate(ViolationId::kPP002, ReleasedToDirectText(m, dev, call), where);
        return false;
      }
      ++dev.iommu_faults[static_cast<int>(IommuFaultKind::kTeardown)];
      m.Log(LogLevel::kCrit, TeardownCrashText(dev, call), caller.pool, dev.id);
      m.Violate(ViolationId::kPP001,
                absl::StrCat(TeardownCrashText(dev, call), " (device ", dev.name, ")"), where);
      return false;
    case DeviceState::kPresent:
    case DeviceState::kUnbound:
    case DeviceState::kRemoving:
      m.Violate(ViolationId::kPP002,
                absl::StrCat(call, " for device ", dev.name, " with no driver bound (",
                             DeviceStateName(dev.state),
                             "): a device with no driver must not be passed to the DMA API"),
                where);
      return true;
  }
  return true;
}

void ReportDmaDebug(Machine& m, Device& dev, const std::string& msg, const DmaCaller& caller) {
  dev.dma_debug.CountError();
  const std::string text = absl::StrCat("DMA-API: ppsim ", dev.name, ": ", msg);
  m.Log(LogLevel::kWarn, text, caller.pool, dev.id);
  m.Violate(ViolationId::kPP006, text, {.pfn = caller.pfn, .pool = caller.pool, .device = dev.id});
}

void ArmFlushTimer(Machine& m, Device& dev) {
  if (dev.flush_timer_armed) return;
  dev.flush_timer_armed = true;
  const DeviceId id = dev.id;
  m.clock.Schedule(m.clock.now() + IommuDomain::kFlushTimeout, "iova_fq_timeout", [&m, id] {
    Device* d = m.FindDevice(id);
    if (d == nullptr) return;
    d->flush_timer_armed = false;
    if (d->domain.freed() || d->domain.queued() == 0) return;
    if (m.ShouldFail(FaultSite::kIotlbFlushDelay, {.device = id, .ctx = m.ctx})) {
      const Nanos delay = m.faults.spec(FaultSite::kIotlbFlushDelay)->delay_ns;
      d->flush_timer_armed = true;
      m.clock.Schedule(m.clock.now() + delay, "iova_fq_timeout(delayed)", [&m, id] {
        Device* d2 = m.FindDevice(id);
        if (d2 == nullptr) return;
        d2->flush_timer_armed = false;
        if (!d2->domain.freed()) FlushIotlb(m, *d2);
      });
      return;
    }
    FlushIotlb(m, *d);
  });
}

}  // namespace

void FlushIotlb(Machine& m, Device& dev) {
  dev.domain.FlushIotlb();
  m.digest.Mix(DigestTag::kIotlbFlush, dev.id);
}

DmaAddr DmaMapPage(Machine& m, Device& dev, Pfn pfn, uint64_t size, DmaDir dir,
                   const DmaCaller& caller) {
  if (!CheckLifecycle(m, dev, "dma_map_page_attrs", caller)) return 0;
  if (m.ShouldFail(FaultSite::kFailDmaMap, {.pool = caller.pool, .device = dev.id, .ctx = m.ctx},
                   pfn)) {
    return 0;
  }
  DmaAddr slot = 0;
  if (dev.domain.NeedsBounce(pfn, size)) {
    // swiotlb_tbl_map_single resets the skip-sync shortcut first, even when no slot is found
    // (the oracle's swiotlb probe: "flips to 1 inside the first swiotlb mapping").
    if (m.profile.dma_skip_sync) dev.dma_need_sync = true;
    // The bounce buffer is memory the kernel set aside at boot, low enough for any mask: one
    // page of node 0 per mapping here, never a pool's.
    std::optional<Pfn> buf = size <= kPageSize ? m.memory.Alloc(0, 0) : std::nullopt;
    if (!buf) return 0;
    if (((*buf << kPageShift) >> dev.dma_mask_bits) != 0) {  // no RAM below the mask left
      m.memory.At(*buf).refcount = 0;
      m.memory.Free(*buf);
      return 0;
    }
    slot = *buf << kPageShift;
  }
  const DmaAddr addr = dev.domain.Map(pfn, size, dir, m.ctx.cpu, slot);
  if (addr == 0) return 0;
  dev.dma_debug.Add(addr, DmaDebugEntry{pfn, size, dir});
  Frame& f = m.memory.Touch(pfn);
  m.RecordPage(pfn, f, PageEventKind::kDmaMap, addr, caller.pool);
  return addr;
}

void DmaUnmapPage(Machine& m, Device& dev, DmaAddr addr, uint64_t size, DmaDir dir,
                  const DmaCaller& caller) {
  if (caller.pfn) {
    m.RecordPage(*caller.pfn, m.memory.Touch(*caller.pfn), PageEventKind::kDmaUnmap, addr,
                 caller.pool);
  }
  if (!CheckLifecycle(m, dev, "dma_unmap_page_attrs", caller)) return;
  if (std::optional<std::string> err = dev.dma_debug.CheckUnmap(addr, size, dir)) {
    ReportDmaDebug(m, dev, *err, caller);
  }
  const IommuDomain::UnmapResult r = dev.domain.Unmap(addr, m.ctx.cpu);
  if (r.found && r.mapping.bounced) {  // page_pool unmaps with DMA_ATTR_SKIP_CPU_SYNC: no copy
    Frame& buf = m.memory.At(addr >> kPageShift);
    buf.refcount = 0;
    m.memory.Free(addr >> kPageShift);
  }
  if (r.queue_full) {
    FlushIotlb(m, dev);
  } else if (r.queued) {
    ArmFlushTimer(m, dev);
  }
  // A device that kept the descriptor writes through it later (docs/design.md §3.10).
  if (r.found && m.ShouldFail(FaultSite::kStaleDeviceDma,
                              {.pool = caller.pool, .device = dev.id, .ctx = m.ctx}, caller.pfn)) {
    const Nanos delay = m.faults.spec(FaultSite::kStaleDeviceDma)->delay_ns;
    const DeviceId id = dev.id;
    const Pfn pfn = r.mapping.pfn;
    const uint32_t gen = m.memory.Touch(pfn).generation;
    m.clock.Schedule(m.clock.now() + delay, "stale_device_dma", [&m, id, addr, pfn, gen] {
      Device* d = m.FindDevice(id);
      if (d != nullptr && !d->gone()) DeviceDma(m, *d, addr, kPageSize, true, PageHandle{pfn, gen});
    });
  }
}

void DmaSync(Machine& m, Device& dev, DmaAddr addr, uint64_t size, DmaDir dir, bool for_cpu,
             const DmaCaller& caller) {
  const char* call = for_cpu ? "dma_sync_single_for_cpu" : "dma_sync_single_for_device";
  if (!CheckLifecycle(m, dev, call, caller)) return;
  if (std::optional<std::string> err = dev.dma_debug.CheckSync(addr, size, dir, for_cpu)) {
    ReportDmaDebug(m, dev, *err, caller);
  }
  // A bounced page: the sync for the CPU copies the slot into the page, unless the skip-sync
  // shortcut says the device needs no syncs (kernel/dma/mapping.c __dma_sync_single_for_cpu
  // returns before swiotlb_sync_single_for_cpu when dev->dma_skip_sync).
  IovaMapping* map = for_cpu && dev.domain.model() == IommuModel::kPassthrough
                         ? dev.domain.FindMapping(addr & ~(kPageSize - 1))
                         : nullptr;
  if (map != nullptr && map->bounced) {
    const bool skipped = m.profile.dma_skip_sync && !dev.dma_need_sync;
    if (!skipped) {
      map->bounce_has_device_data = false;
    } else if (map->bounce_has_device_data) {
      m.Violate(ViolationId::kPP018,
                absl::StrFormat("%s for pfn 0x%x of %s did nothing: dma_need_sync is 0 (reset "
                                "by dma_set_mask_and_coherent while the page was bounced), so "
                                "the device's data stays in the swiotlb slot 0x%x and the CPU "
                                "reads the page's old contents",
                                call, map->pfn, dev.name, addr & ~(kPageSize - 1)),
                {.pfn = map->pfn, .pool = caller.pool, .device = dev.id});
    }
  }
  if (caller.pfn) {
    m.RecordPage(*caller.pfn, m.memory.Touch(*caller.pfn), PageEventKind::kDmaSync, addr,
                 caller.pool);
  }
}

void DeviceDma(Machine& m, Device& dev, DmaAddr addr, uint64_t len, bool write,
               std::optional<PageHandle> expect) {
  const IommuDomain::Translation t = dev.domain.Translate(addr);
  const char* rw = write ? "Write" : "Read";
  auto touch = [&](Pfn pfn) -> Frame* {
    if (!m.memory.Valid(pfn)) return nullptr;
    Frame& f = m.memory.Touch(pfn);
    m.RecordPage(pfn, f, PageEventKind::kDeviceDma, addr);
    return &f;
  };
  switch (t.kind) {
    case IommuDomain::TranslationKind::kDirect:
      touch(t.pfn);  // passthrough: the bus address is the page; nothing checks it
      return;
    case IommuDomain::TranslationKind::kBounce:
      // The device reaches the swiotlb slot, not the page: its data waits there for a sync.
      if (IovaMapping* map = dev.domain.FindMapping(addr & ~(kPageSize - 1)); map && write) {
        map->bounce_has_device_data = true;
      }
      return;
    case IommuDomain::TranslationKind::kNone: {
      // The IOMMU blocks the access and logs a fault in its driver's words
      // (docs/kernel/skb-and-iommu.md §4.4; drivers/iommu/amd/iommu.c:amd_iommu_report_page_fault,
      // drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:arm_smmu_evtq_thread).
      std::string text;
      switch (dev.domain.model()) {
        case IommuModel::kAmd:
          text = absl::StrFormat(
              "AMD-Vi: Event logged [IO_PAGE_FAULT device=%s domain=0x%04x address=0x%x "
              "flags=0x%04x]",
              dev.name, dev.id, addr, write ? 0x0030 : 0x0010);
          break;
        case IommuModel::kArmSmmu:
          text = absl::StrFormat(
              "arm-smmu-v3: event 0x10 received: F_TRANSLATION %s of IOVA 0x%x by %s",
              write ? "write" : "read", addr, dev.name);
          break;
        default:
          text = absl::StrFormat(
              "DMAR: [DMA %s NO_PASID] Request device [%s] fault addr 0x%x [fault reason "
              "0x%02x] PTE %s access is not set",
              rw, dev.name, addr, write ? 5 : 6, rw);
          break;
      }
      m.Log(LogLevel::kErr, text, 0, dev.id);
      ++dev.iommu_faults[static_cast<int>(IommuFaultKind::kUnmappedIova)];
      m.Violate(ViolationId::kPP003,
                absl::StrCat("device ", dev.name, " touched IOVA ", absl::Hex(addr),
                             " which has no mapping: ", text),
                {.pfn = expect ? std::optional<Pfn>(expect->pfn) : std::nullopt,
                 .device = dev.id});
      return;
    }
    case IommuDomain::TranslationKind::kStaleIotlb: {
      Frame* f = touch(t.pfn);
      ++dev.iommu_faults[static_cast<int>(IommuFaultKind::kStaleIotlb)];
      m.Violate(ViolationId::kPP004,
                absl::StrFormat("device %s %s IOVA 0x%x after it was unmapped: the lazy-mode "
                                "IOTLB still translated it (no flush yet) to pfn 0x%x, now %s; "
                                "no fault is raised, the access lands silently",
                                dev.name, write ? "wrote" : "read", addr, t.pfn,
                                f ? FrameStateName(f->state) : "?"),
                {.pfn = t.pfn, .device = dev.id});
      return;
    }
    case IommuDomain::TranslationKind::kLive: {
      Frame* f = touch(t.pfn);
      if (expect && expect->pfn != t.pfn) {
        ++dev.iommu_faults[static_cast<int>(IommuFaultKind::kReusedIova)];
        m.Violate(ViolationId::kPP004,
                  absl::StrFormat("device %s %s IOVA 0x%x meaning pfn 0x%x, but the IOVA was "
                                  "reused and now maps pfn 0x%x (%s): silent corruption",
                                  dev.name, write ? "wrote" : "read", addr, expect->pfn, t.pfn,
                                  f ? FrameStateName(f->state) : "?"),
                  {.pfn = t.pfn, .pool = f ? f->pool : 0, .device = dev.id});
      } else if (expect && f != nullptr && f->generation != expect->generation) {
        m.Violate(ViolationId::kPP007,
                  absl::StrFormat("device %s %s pfn 0x%x through a stale descriptor: the pool "
                                  "recycled the page and handed it to a new user",
                                  dev.name, write ? "wrote" : "read", t.pfn),
                  {.pfn = t.pfn, .pool = f->pool, .device = dev.id});
      }
      (void)len;
      return;
    }
  }
}

}  // namespace ppsim::sim
