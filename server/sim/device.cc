#include "server/sim/device.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/dma_api.h"
#include "server/sim/machine.h"

namespace ppsim::sim {

const char* DeviceStateName(DeviceState s) {
  switch (s) {
    case DeviceState::kPresent: return "present";
    case DeviceState::kBound: return "bound";
    case DeviceState::kUnbound: return "unbound";
    case DeviceState::kRemoving: return "removing";
    case DeviceState::kRemoved: return "removed";
  }
  return "?";
}

const char* IommuFaultKindName(IommuFaultKind k) {
  switch (k) {
    case IommuFaultKind::kUnmappedIova: return "unmapped_iova";
    case IommuFaultKind::kStaleIotlb: return "stale_iotlb";
    case IommuFaultKind::kReusedIova: return "reused_iova";
    case IommuFaultKind::kTeardown: return "teardown";
  }
  return "?";
}

DriverConfig DriverConfig::Netdevsim(uint32_t rx_queues) {
  DriverConfig c;
  c.kind = DriverKind::kNetdevsim;
  c.rx_queues = rx_queues;
  c.pool.order = 0;
  c.pool.pool_size = 256;  // NSIM_RING_SIZE
  c.pool.nid = kNumaNoNode;
  c.pool.dma_dir = DmaDir::kBidirectional;
  c.pool.flags = 0;
  return c;
}

namespace {
void DeviceEvent(Machine& m, Device& dev, std::string text) {
  m.digest.Mix(text);
  m.events.Append(Event{.time = m.clock.now(), .op_index = m.op_index, .kind = EventKind::kDevice,
                        .level = LogLevel::kInfo, .device = dev.id, .text = std::move(text)});
}
}  // namespace

absl::StatusOr<Device*> AddDevice(Machine& m, std::string name, uint32_t numa_node,
                                  std::optional<IommuModel> model, std::optional<bool> strict,
                                  bool needs_sync, uint32_t dma_mask_bits) {
  if (numa_node >= m.memory.numa_nodes()) {
    return absl::InvalidArgumentError(absl::StrCat("numa_node: ", numa_node, " but the lab has ",
                                                   m.memory.numa_nodes(), " nodes"));
  }
  // dma_set_mask refuses masks the platform cannot honour; 24 bits (ISA) is the smallest any
  // driver asks for.
  if (dma_mask_bits < 24 || dma_mask_bits > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("dma_mask_bits: ", dma_mask_bits, " must be between 24 and 64"));
  }
  const DeviceId id = m.next_device_id++;
  if (name.empty()) name = absl::StrFormat("0000:%02x:00.0", id);
  auto dev = std::make_unique<Device>(id, name, numa_node, model.value_or(m.config.iommu_model),
                                      strict.value_or(m.config.iommu_strict), needs_sync,
                                      m.config.cpus, dma_mask_bits);
  Device* raw = dev.get();
  m.devices.emplace(id, std::move(dev));
  DeviceEvent(m, *raw, absl::StrCat("device ", raw->name, " added (iommu ",
                                    IommuModelName(raw->domain.model()),
                                    raw->domain.lazy() ? ", lazy" : "", ")"));
  return raw;
}

absl::Status BindDriver(Machine& m, Device& dev, const DriverConfig& cfg) {
  if (dev.state != DeviceState::kPresent && dev.state != DeviceState::kUnbound) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device: ", dev.id, " is ", DeviceStateName(dev.state), "; bind needs a present device "
        "with no driver"));
  }
  if (cfg.rx_queues == 0 || cfg.rx_queues > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("rx_queues: ", cfg.rx_queues, " must be in 1..1024"));
  }
  PagePoolParams check = cfg.pool;
  check.dev = dev.id;
  if (absl::Status s = check.Validate(); !s.ok()) return s;
  if (check.nid >= static_cast<int32_t>(m.memory.numa_nodes())) {
    return absl::InvalidArgumentError(absl::StrCat("pool.nid: ", check.nid, " but the lab has ",
                                                   m.memory.numa_nodes(), " NUMA nodes"));
  }
  if (!cfg.pool.strategy.empty()) {
    if (absl::StatusOr<const StrategyInfo*> s = FindStrategy(cfg.pool.strategy); !s.ok()) {
      return s.status();
    }
    if (absl::Status s = CheckStrategyFitsProfile(m, cfg.pool.strategy); !s.ok()) return s;
  }
  dev.driver = cfg;
  dev.state = DeviceState::kBound;
  // The probe's dma_set_mask_and_coherent() (dma_setup_need_sync).
  if (m.profile.dma_skip_sync) dev.dma_need_sync = dev.needs_sync;
  ++dev.bind_generation;
  dev.ifindex = m.next_ifindex++;
  for (uint32_t q = 0; q < cfg.rx_queues; ++q) {
    const NapiId napi = m.next_napi_id++;
    m.napis.emplace(napi, Machine::Napi{.id = napi, .device = dev.id,
                                        .id_assigned = !m.profile.napi_id_at_enable});
    dev.napis.push_back(napi);
  }
  DeviceEvent(m, dev, absl::StrCat("driver bound to ", dev.name, ": netdev ifindex ", dev.ifindex,
                                   ", ", cfg.rx_queues, " RX queues"));
  if (cfg.up) return NetdevOpen(m, dev);
  return absl::OkStatus();
}

// ndo_open: one pool per RX queue, its NAPI enabled. The NAPI is polled only between
// napi_schedule and napi_complete_done ops: enabling it schedules nothing.
absl::Status NetdevOpen(Machine& m, Device& dev) {
  if (!dev.bound()) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: ", dev.id, " has no driver bound (", DeviceStateName(dev.state), ")"));
  }
  if (dev.up) return absl::OkStatus();
  dev.up = true;
  for (uint32_t q = 0; q < dev.napis.size(); ++q) {
    Napi& napi = m.napis[dev.napis[q]];
    napi.enabled = true;
    napi.id_assigned = true;
    PagePoolParams p = dev.driver->pool;
    p.dev = dev.id;
    p.napi = dev.napis[q];
    p.netdev = dev.ifindex;
    p.queue_idx = q;
    absl::StatusOr<PagePool*> pool = PagePool::Create(m, p);
    if (!pool.ok()) return pool.status();  // validated at bind: cannot happen
    if (dev.driver->xdp_mem_model) (*pool)->UseXdpMem();
    dev.rx_pools.push_back((*pool)->id());
  }
  DeviceEvent(m, dev, absl::StrCat("netdev ", dev.ifindex, " up"));
  return absl::OkStatus();
}

// ndo_stop: NAPI disabled, synchronize_net, then each queue's pools destroyed (and the XDP
// memory model unregistered, which is the second page_pool_destroy of §3.9).
void NetdevStop(Machine& m, Device& dev) {
  if (!dev.up) return;
  dev.up = false;
  for (NapiId id : dev.napis) {
    Napi& napi = m.napis[id];
    napi.enabled = false;  // napi_disable waits for a running poll, which then has completed
    napi.list_owner = -1;
  }
  for (PoolId id : dev.rx_pools) {
    PagePool* pool = m.FindPool(id);
    if (pool == nullptr || pool->state() != PoolState::kActive) continue;
    if (dev.driver->xdp_mem_model) pool->Destroy(m);  // xdp_rxq_info_unreg_mem_model
    pool->Destroy(m);
  }
  dev.rx_pools.clear();
  DeviceEvent(m, dev, absl::StrCat("netdev ", dev.ifindex, " down"));
}

// The driver's remove: stop, unregister the netdev (pools still alive are orphaned to lo),
// netdevsim returns its held page only now, then dma-debug's leak check at
// BUS_NOTIFY_UNBOUND_DRIVER.
absl::Status UnbindDriver(Machine& m, Device& dev) {
  if (!dev.bound()) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: ", dev.id, " has no driver bound (", DeviceStateName(dev.state), ")"));
  }
  NetdevStop(m, dev);
  for (auto& [id, pool] : m.pools) {
    if (pool->netdev() == dev.ifindex) pool->Orphan(m);
  }
  for (NapiId napi : dev.napis) FindOrDie(m.napis, napi, "NAPI").list_owner = -1;  // netif_napi_del
  dev.napis.clear();
  const IfIndex ifindex = dev.ifindex;
  dev.ifindex = 0;
  if (dev.pp_hold) {
    const Pfn pfn = *dev.pp_hold;
    dev.pp_hold.reset();
    Frame& f = m.memory.At(pfn);
    if (PagePool* pool = m.FindPool(f.pool)) pool->PutPage(m, pfn, -1, false);
  }
  dev.state = DeviceState::kUnbound;
  dev.driver.reset();
  if (const size_t pending = dev.dma_debug.pending(); pending > 0) {
    const auto any = dev.dma_debug.AnyEntry();
    const std::string text = absl::StrFormat(
        "DMA-API: ppsim %s: device driver has pending DMA allocations while released from "
        "device [count=%d]\nOne of leaked entries details: [device address=0x%016x] [size=%d "
        "bytes] [mapped with %s] [mapped as single]",
        dev.name, pending, any->first, any->second.size, DmaDirName(any->second.dir));
    m.Log(LogLevel::kWarn, text, 0, dev.id);
    m.Violate(ViolationId::kPP005,
              absl::StrFormat("%d DMA mappings of %s still alive when its driver unbound (pages "
                              "in flight keep their pool mappings): %s",
                              pending, dev.name, text),
              {.pfn = any->second.pfn, .device = dev.id});
  }
  DeviceEvent(m, dev, absl::StrCat("driver unbound from ", dev.name, " (netdev ", ifindex,
                                   " unregistered)"));
  return absl::OkStatus();
}

namespace {
// What removal frees: the iommu-dma domain with the device's IOMMU group, the device node's
// DDW (remove_ddw), or, for the PHB's default window, nothing unless the PHB goes too
// (iommu_table_free at the PHB node's removal: "Unexpected TCEs" when some are still set).
bool RemovalFreesWindow(const Device& dev) {
  return !dev.domain.ppc_default_window() || dev.phb_removed;
}

void FinishRemoval(Machine& m, Device& dev) {
  const bool frees = RemovalFreesWindow(dev);
  // Mainline's iommu_table_free (arch/powerpc/kernel/iommu.c) warns when the bitmap still has
  // entries and frees the table regardless; the TCE wait's give-up ends the same way.
  if (frees && dev.domain.model() == IommuModel::kPpcDdw && dev.domain.mapped_count() > 0) {
    m.Log(LogLevel::kWarn,
          absl::StrFormat("iommu_table_free: Unexpected TCEs (%d still mapped)",
                          dev.domain.mapped_count()),
          0, dev.id);
  }
  if (frees) dev.domain.Free();
  dev.state = DeviceState::kRemoved;
  dev.removal_finished = m.clock.now();
  DeviceEvent(m, dev,
              absl::StrFormat("device %s removed after %.3f s: %s", dev.name,
                              (dev.removal_finished - dev.removal_started) / 1e9,
                              !frees ? "the PHB keeps its default TCE window"
                              : dev.phb_removed ? "PHB and TCE table freed"
                                                : "IOMMU domain freed"));
}

// tce-wait: iommu_table_free polls while TCEs are in use (docs/kernel/page-pool.md §5e).
void RemovalPoll(Machine& m, DeviceId id, TeardownStrategy::RemovalWait wait) {
  Device* dev = m.FindDevice(id);
  if (dev == nullptr || dev->state != DeviceState::kRemoving) return;
  if (dev->domain.mapped_count() == 0) {
    FinishRemoval(m, *dev);
    return;
  }
  const Nanos waited = m.clock.now() - dev->removal_started;
  if (waited >= wait.limit) {
    // The wait sleeps with msleep(50), so drmgr is runnable every 50 ms and the hung-task
    // detector (which looks for tasks in D state for 120 s) never reports it: the only sign is
    // the patch's own line and a removal that took the full 120 s.
    m.Log(LogLevel::kWarn, "iommu_table_free: TCEs still mapped even after 120 seconds", 0, id);
    m.Violate(ViolationId::kPP014,
              absl::StrFormat("removal of %s was held by the TCE wait for its full %.1f s: %d "
                              "TCEs still mapped by pages in flight; it then freed the table "
                              "anyway",
                              dev->name, waited / 1e9, dev->domain.mapped_count()),
              {.device = id});
    FinishRemoval(m, *dev);
    return;
  }
  m.Log(LogLevel::kInfo, "iommu_table_free: Unexpected TCEs, wait for 50ms", 0, id);
  m.clock.Schedule(m.clock.now() + wait.poll, "iommu_table_free_wait",
                   [&m, id, wait] { RemovalPoll(m, id, wait); });
}
}  // namespace

absl::Status DmaSetMask(Machine& m, Device& dev, uint32_t bits) {
  if (bits < 24 || bits > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("bits: ", bits, " must be between 24 and 64"));
  }
  if (!dev.bound()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device: ", dev.id, " is ", DeviceStateName(dev.state),
        "; dma_set_mask_and_coherent is its driver's call"));
  }
  dev.dma_mask_bits = bits;
  dev.domain.set_dma_mask_bits(bits);
  if (m.profile.dma_skip_sync) dev.dma_need_sync = dev.needs_sync;
  DeviceEvent(m, dev, absl::StrFormat("%s: dma_set_mask_and_coherent(DMA_BIT_MASK(%u))%s",
                                      dev.name, bits,
                                      m.profile.dma_skip_sync
                                          ? (dev.dma_need_sync ? ", need_sync 1" : ", need_sync 0")
                                          : ""));
  return absl::OkStatus();
}

absl::Status RemoveDevice(Machine& m, Device& dev, bool surprise, bool phb) {
  if (dev.state == DeviceState::kRemoved || dev.state == DeviceState::kRemoving) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: ", dev.id, " is already ", DeviceStateName(dev.state)));
  }
  if (phb && dev.domain.model() != IommuModel::kPpcDdw) {
    return absl::InvalidArgumentError(absl::StrCat(
        "phb: true for device ", dev.id, " with iommu ", IommuModelName(dev.domain.model()),
        "; removing the host bridge is modelled for pseries (ppc-ddw) only"));
  }
  dev.phb_removed = phb;
  dev.removal_started = m.clock.now();
  if (dev.bound()) {
    const absl::Status s = UnbindDriver(m, dev);  // fails only for a device with no driver
    PPSIM_CHECK(s.ok(), "unbinding device ", dev.id, " on removal: ", s.message());
  }
  DeviceEvent(m, dev, absl::StrCat(surprise ? "surprise removal of " : "removal of ", dev.name));
  TeardownStrategy::RemovalWait wait;
  for (auto& [id, pool] : m.pools) {
    if (pool->params().dev != dev.id || pool->state() == PoolState::kFreed) continue;
    const TeardownStrategy::RemovalWait w = pool->strategy().Removal();
    if (w.limit > wait.limit) wait = w;
  }
  if (wait.limit > 0 && RemovalFreesWindow(dev) && dev.domain.mapped_count() > 0) {
    dev.state = DeviceState::kRemoving;
    RemovalPoll(m, dev.id, wait);
    return absl::OkStatus();
  }
  FinishRemoval(m, dev);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Pfn>> NsimPpHold(Machine& m, Device& dev, bool hold) {
  if (!dev.bound() || dev.driver->kind != DriverKind::kNetdevsim) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: ", dev.id, " is not bound to netdevsim"));
  }
  if (hold == dev.pp_hold.has_value()) return dev.pp_hold;  // writing the current state: no-op
  if (hold) {
    if (!dev.up || dev.rx_pools.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("device: ", dev.id, " netdev is down (pp_hold returns -ENETDOWN)"));
    }
    PagePool* pool = m.FindPool(dev.rx_pools[0]);
    std::optional<Pfn> pfn = pool->AllocPages(m);
    if (!pfn) {  // the write fails with -ENOMEM; the op itself was meaningful
      m.Log(LogLevel::kInfo, "netdevsim pp_hold: page_pool_dev_alloc_pages failed (-ENOMEM)", 0,
            dev.id);
      return std::optional<Pfn>();
    }
    dev.pp_hold = pfn;
    return pfn;
  }
  const Pfn pfn = *dev.pp_hold;
  dev.pp_hold.reset();
  Frame& f = m.memory.At(pfn);
  if (PagePool* pool = m.FindPool(f.pool)) pool->PutPage(m, pfn, -1, false);
  return std::optional<Pfn>();
}

}  // namespace ppsim::sim
