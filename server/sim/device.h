// Devices and their drivers (docs/design.md §3.4): add → bind (probe: netdev, NAPI per RX queue) →
// up/down (one pool per RX queue created in open and destroyed in stop, as netdevsim does) →
// orderly unbind, device removal, or surprise removal. The IOMMU domain belongs to the device,
// not the driver: it survives unbind and is freed by removal (docs/kernel/skb-and-iommu.md §4.5).
#ifndef PPSIM_SERVER_SIM_DEVICE_H_
#define PPSIM_SERVER_SIM_DEVICE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/sim/clock.h"
#include "server/sim/dma_debug.h"
#include "server/sim/iommu.h"
#include "server/sim/page_pool.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;

enum class DeviceState : uint8_t {
  kPresent,   // no driver bound yet
  kBound,     // a driver is bound: the DMA API may be used
  kUnbound,   // the driver unbound; the device and its domain are still there
  kRemoving,  // device_del waits for TCEs to drain (tce-wait)
  kRemoved,   // device_del done: domain / TCE window and tables freed
};
const char* DeviceStateName(DeviceState s);

// What went wrong between a device and its IOMMU (docs/design.md §5 ppsim_iommu_faults_total{kind}).
enum class IommuFaultKind : uint8_t {
  kUnmappedIova = 0,  // the IOMMU blocked a DMA to an IOVA with no mapping (a DMAR fault)
  kStaleIotlb = 1,    // a DMA reached a page through an unflushed IOTLB entry (silent)
  kReusedIova = 2,    // a DMA through a stale descriptor hit a reused IOVA (silent)
  kTeardown = 3,      // a DMA API call into a freed domain or TCE table
};
inline constexpr int kIommuFaultKinds = 4;
const char* IommuFaultKindName(IommuFaultKind k);

enum class DriverKind : uint8_t {
  kGeneric,    // a NIC driver that maps its pages (template flags decide)
  kNetdevsim,  // drivers/net/netdevsim: no DMA flags, pp_hold debugfs (docs/kernel/page-pool.md §8)
};

struct DriverConfig {
  DriverKind kind = DriverKind::kGeneric;
  uint32_t rx_queues = 1;
  // Template for the per-queue pools; dev, napi, netdev and queue_idx are filled in by open.
  PagePoolParams pool;
  bool xdp_mem_model = false;  // register each pool as the rxq's XDP memory model (user_cnt 2)
  bool up = true;              // open the netdev right after probe
  // netdevsim's parameters: order 0, pool_size 256 (NSIM_RING_SIZE), NUMA_NO_NODE,
  // DMA_BIDIRECTIONAL, no flags (drivers/net/netdevsim/netdev.c).
  static DriverConfig Netdevsim(uint32_t rx_queues = 1);
};

class Device {
 public:
  Device(DeviceId id, std::string name, uint32_t numa_node, IommuModel model, bool strict,
         bool needs_sync, uint32_t cpus, uint32_t dma_mask_bits = 64)
      : id(id), name(std::move(name)), numa_node(numa_node), needs_sync(needs_sync),
        dma_mask_bits(dma_mask_bits), domain(model, strict, cpus, dma_mask_bits) {}

  const DeviceId id;
  const std::string name;
  const uint32_t numa_node;
  // dma_dev_need_sync(): false for cache-coherent devices (the x86 default), so the pool
  // skips sync-for-device (docs/kernel/skb-and-iommu.md §4.1).
  const bool needs_sync;
  uint32_t dma_mask_bits;
  // dma_dev_need_sync() in the dma_skip_sync era (KernelProfile::dma_skip_sync): needs_sync
  // once the driver set its mask (the kernel reports 1 before that; nothing here maps before a
  // probe), true from the first swiotlb bounce on, and reset by every dma_set_mask
  // (kernel/dma/mapping.c dma_setup_need_sync).
  bool dma_need_sync = needs_sync;
  DeviceState state = DeviceState::kPresent;
  IommuDomain domain;
  DmaDebug dma_debug;
  bool flush_timer_armed = false;
  std::array<uint64_t, kIommuFaultKinds> iommu_faults{};
  // Incremented by every bind: a pool remembers the binding it was created under, so a late
  // DMA call from a previous driver's pool is seen even after a new driver bound.
  uint32_t bind_generation = 0;

  // Driver state, while bound.
  std::optional<DriverConfig> driver;
  IfIndex ifindex = 0;
  bool up = false;
  std::vector<NapiId> napis;      // one per RX queue
  std::vector<PoolId> rx_pools;   // current pools, one per RX queue, while up
  std::optional<Pfn> pp_hold;     // netdevsim's held page

  // The removal took the PCI host bridge with it (pseries DLPAR of the slot and its PHB).
  bool phb_removed = false;
  Nanos removal_started = -1;
  Nanos removal_finished = -1;

  bool bound() const { return state == DeviceState::kBound; }
  bool gone() const { return state == DeviceState::kRemoved; }
};

// Lifecycle operations. Each validates first and changes nothing when it returns an error.
absl::StatusOr<Device*> AddDevice(Machine& m, std::string name, uint32_t numa_node,
                                  std::optional<IommuModel> model, std::optional<bool> strict,
                                  bool needs_sync, uint32_t dma_mask_bits = 64);
absl::Status BindDriver(Machine& m, Device& dev, const DriverConfig& cfg);
// The driver's dma_set_mask_and_coherent(): a new mask for the mappings that follow; in the
// dma_skip_sync era it also resets dma_need_sync, whatever is still bounced (the oracle's
// swiotlb probe on 6.12.95 and 7.3.4).
absl::Status DmaSetMask(Machine& m, Device& dev, uint32_t bits);
absl::Status NetdevOpen(Machine& m, Device& dev);
// ndo_stop: NAPIs disabled, RX pools destroyed. A netdev already down: nothing to do.
void NetdevStop(Machine& m, Device& dev);
absl::Status UnbindDriver(Machine& m, Device& dev);
// device_del: unbinds first if a driver is bound (hot unplug runs the driver's remove). The
// device's IOMMU domain (iommu_release_device) or its DDW is freed; `phb` (ppc-ddw only) also
// removes the host bridge, whose default TCE window is freed then and only then.
absl::Status RemoveDevice(Machine& m, Device& dev, bool surprise, bool phb = false);
// netdevsim pp_hold debugfs write (docs/kernel/page-pool.md §8): -ENETDOWN if not running.
absl::StatusOr<std::optional<Pfn>> NsimPpHold(Machine& m, Device& dev, bool hold);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_DEVICE_H_
