#include "server/sim/types.h"

namespace ppsim::sim {

absl::string_view CtxKindName(CtxKind kind) {
  switch (kind) {
    case CtxKind::kProcess: return "process";
    case CtxKind::kSoftirq: return "softirq";
    case CtxKind::kWorkqueue: return "workqueue";
  }
  return "?";
}

// The names dma-debug prints (docs/kernel/page-pool.md §6.5).
absl::string_view DmaDirName(DmaDir dir) {
  switch (dir) {
    case DmaDir::kBidirectional: return "DMA_BIDIRECTIONAL";
    case DmaDir::kToDevice: return "DMA_TO_DEVICE";
    case DmaDir::kFromDevice: return "DMA_FROM_DEVICE";
    case DmaDir::kNone: return "DMA_NONE";
  }
  return "?";
}

}  // namespace ppsim::sim
