// Basic vocabulary of the model: virtual time, typed handles, execution contexts.
//
// Handles are small value types so they can be hashed into the digest, stored in traces and
// compared. A page handle carries the frame's generation at the time it was handed out: the
// checker compares it with the frame's current generation to see a stale reference
// (docs/design.md §3.1).
#ifndef PPSIM_SERVER_SIM_TYPES_H_
#define PPSIM_SERVER_SIM_TYPES_H_

#include <cstdint>
#include "absl/strings/string_view.h"

namespace ppsim::sim {

// Virtual nanoseconds since the lab booted (CLOCK_BOOTTIME of the simulated machine).
using Nanos = int64_t;
inline constexpr Nanos kMicrosecond = 1000;
inline constexpr Nanos kMillisecond = 1000 * kMicrosecond;
inline constexpr Nanos kSecond = 1000 * kMillisecond;

using Pfn = uint64_t;
inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

// DMA (bus) address as the device sees it: an IOVA, a TCE-window address, or a physical address
// under passthrough. 0 is never handed out and means "no mapping".
using DmaAddr = uint64_t;

using DeviceId = uint32_t;  // 1-based; 0 = none
using PoolId = uint32_t;    // page_pool ids: 1-based, cyclic, never reused within a lab
using NapiId = uint32_t;    // kernel NAPI ids start above MIN_NAPI_ID; 0 = none
using IfIndex = uint32_t;   // 1 is the namespace's loopback device; 0 = none
inline constexpr IfIndex kLoopbackIfindex = 1;

// A reference to a page frame as the client holds it. `generation` is the frame's generation
// when the reference was handed out (by the buddy allocator or by a pool).
struct PageHandle {
  Pfn pfn = 0;
  uint32_t generation = 0;
  friend bool operator==(const PageHandle&, const PageHandle&) = default;
};

// Where an op runs. The context decides whether direct (lockless) recycling is allowed
// (docs/kernel/page-pool.md §3.4: page_pool_napi_local needs softirq on the owning CPU) and which
// CPU's IOVA cache and flush queue an unmap uses.
enum class CtxKind : uint8_t { kProcess = 0, kSoftirq = 1, kWorkqueue = 2 };

struct ExecContext {
  CtxKind kind = CtxKind::kProcess;
  uint16_t cpu = 0;
  friend bool operator==(const ExecContext&, const ExecContext&) = default;
};

absl::string_view CtxKindName(CtxKind kind);

enum class DmaDir : uint8_t { kBidirectional = 0, kToDevice = 1, kFromDevice = 2, kNone = 3 };
absl::string_view DmaDirName(DmaDir dir);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_TYPES_H_
