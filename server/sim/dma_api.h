// The streaming DMA API as drivers and the pool call it (docs/kernel/skb-and-iommu.md §4.1), with
// the device-lifecycle contract checked on every call (docs/design.md §3.3):
//   - driver bound: normal;
//   - no driver bound (unbound, never bound, removal pending): the call breaks the contract
//     (PP002) but still reaches the domain, which may by now serve someone else;
//   - device removed: the domain or TCE table is freed; any call on a translated device is the
//     crash (PP001) and touches nothing; under passthrough it is only PP002.
// dma-debug checks (PP006) run on unmap and sync; mappings left at unbind are PP005.
#ifndef PPSIM_SERVER_SIM_DMA_API_H_
#define PPSIM_SERVER_SIM_DMA_API_H_

#include <cstdint>
#include <optional>

#include "server/sim/types.h"

namespace ppsim::sim {

class Device;
class Machine;

// Who the call is for, for violation context.
struct DmaCaller {
  std::optional<Pfn> pfn;
  PoolId pool = 0;
};

// dma_map_page_attrs. Returns 0 on a mapping error (fault fail_dma_map, IOVA exhaustion,
// device gone).
DmaAddr DmaMapPage(Machine& m, Device& dev, Pfn pfn, uint64_t size, DmaDir dir,
                   const DmaCaller& caller);
// dma_unmap_page_attrs.
void DmaUnmapPage(Machine& m, Device& dev, DmaAddr addr, uint64_t size, DmaDir dir,
                  const DmaCaller& caller);
// dma_sync_single_for_device / _for_cpu.
void DmaSync(Machine& m, Device& dev, DmaAddr addr, uint64_t size, DmaDir dir, bool for_cpu,
             const DmaCaller& caller);

// The device itself reads or writes [addr, addr + len). `expect` is the page the device was
// given for this address (its descriptor), when known: reaching another page is PP004, and
// reaching the same page after the pool handed it to someone else is PP007.
void DeviceDma(Machine& m, Device& dev, DmaAddr addr, uint64_t len, bool write,
               std::optional<PageHandle> expect);

// The lazy-mode flush: run now (queue full) or when the 10 ms timer fires.
void FlushIotlb(Machine& m, Device& dev);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_DMA_API_H_
