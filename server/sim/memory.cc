#include "server/sim/memory.h"

#include <algorithm>
#include <string>

namespace ppsim::sim {

const char* FrameStateName(FrameState s) {
  switch (s) {
    case FrameState::kFreeTail: return "free";
    case FrameState::kFree: return "free";
    case FrameState::kAllocated: return "allocated";
    case FrameState::kTail: return "compound-tail";
    case FrameState::kPoolCache: return "pool-cache";
    case FrameState::kPoolRing: return "pool-ring";
    case FrameState::kPoolOut: return "pool-out";
  }
  return "?";
}

Memory::Memory(uint64_t num_pages, uint32_t numa_nodes)
    : num_pages_(num_pages),
      nodes_(numa_nodes),
      pages_per_node_(num_pages / numa_nodes),
      sections_((num_pages + kSectionPages - 1) >> kSectionShift),
      free_pages_(num_pages) {
  for (uint32_t n = 0; n < numa_nodes; ++n) {
    Node& node = nodes_[n];
    node.start = n * pages_per_node_;
    node.end = (n + 1 == numa_nodes) ? num_pages : node.start + pages_per_node_;
    node.frontier = node.start;
    node.free_head.fill(kNoPfn);
  }
}

uint32_t Memory::NodeOf(Pfn pfn) const {
  const uint64_t n = pfn / pages_per_node_;
  return static_cast<uint32_t>(std::min<uint64_t>(n, nodes_.size() - 1));
}

Frame& Memory::Touch(Pfn pfn) {
  auto& s = sections_[pfn >> kSectionShift];
  if (!s) {
    // The last section of a lab whose RAM is not a multiple of 64 MiB is cut to the lab's end:
    // a small lab (the fuzzers' and tests') then costs kilobytes, not a megabyte per lab.
    const uint64_t frames = std::min(kSectionPages, num_pages_ - (pfn & ~(kSectionPages - 1)));
    s = std::make_unique<Frame[]>(frames);
    ++materialised_;
    materialised_frames_ += frames;
  }
  return s[pfn & (kSectionPages - 1)];
}

uint64_t Memory::host_bytes() const {
  return materialised_frames_ * sizeof(Frame) +
         sections_.size() * sizeof(std::unique_ptr<Frame[]>);
}

// Free lists are doubly linked through the frames: pp_magic = next, dma_addr = prev.
void Memory::Push(Node& node, Pfn pfn, uint32_t order) {
  Frame& f = Touch(pfn);
  f.state = FrameState::kFree;
  f.order = static_cast<uint8_t>(order);
  f.pp_magic = node.free_head[order];
  f.dma_addr = kNoPfn;
  if (node.free_head[order] != kNoPfn) At(node.free_head[order]).dma_addr = pfn;
  node.free_head[order] = pfn;
}

void Memory::Unlink(Node& node, Pfn pfn, uint32_t order) {
  Frame& f = At(pfn);
  const Pfn next = f.pp_magic;
  const Pfn prev = f.dma_addr;
  if (prev != kNoPfn) {
    At(prev).pp_magic = next;
  } else {
    node.free_head[order] = next;
  }
  if (next != kNoPfn) At(next).dma_addr = prev;
  f.pp_magic = 0;
  f.dma_addr = 0;
}

// Takes the largest aligned block (up to max order) from the untouched part of the node.
bool Memory::Carve(Node& node) {
  if (node.frontier >= node.end) return false;
  uint32_t order = kMaxOrder;
  while (order > 0 && ((node.frontier & ((Pfn{1} << order) - 1)) != 0 ||
                       node.frontier + (Pfn{1} << order) > node.end)) {
    --order;
  }
  const Pfn pfn = node.frontier;
  node.frontier += Pfn{1} << order;
  Push(node, pfn, order);
  return true;
}

// The pcp list is threaded through the same fields as the free lists (pp_magic = next,
// dma_addr = prev), with kFramePcp marking its pages so the buddy merge leaves them alone.
void Memory::PcpPush(Node& node, Pfn pfn) {
  Frame& f = At(pfn);
  f.state = FrameState::kFree;
  f.order = 0;
  f.flags = kFramePcp;
  f.pp_magic = node.pcp_head;
  f.dma_addr = kNoPfn;
  if (node.pcp_head != kNoPfn) {
    At(node.pcp_head).dma_addr = pfn;
  } else {
    node.pcp_tail = pfn;
  }
  node.pcp_head = pfn;
  ++node.pcp_count;
}

// Takes pfn off the node's pcp list (either end, or the middle).
Pfn Memory::PcpUnlink(Node& node, Pfn pfn) {
  Frame& f = At(pfn);
  const Pfn next = f.pp_magic;
  const Pfn prev = f.dma_addr;
  (prev != kNoPfn ? At(prev).pp_magic : node.pcp_head) = next;
  (next != kNoPfn ? At(next).dma_addr : node.pcp_tail) = prev;
  f.pp_magic = 0;
  f.dma_addr = 0;
  f.flags = 0;
  --node.pcp_count;
  return pfn;
}

std::optional<Pfn> Memory::AllocFromNode(Node& node, uint32_t order) {
  if (order == 0 && node.pcp_head != kNoPfn) return PcpUnlink(node, node.pcp_head);
  for (;;) {
    uint32_t j = order;
    while (j <= kMaxOrder && node.free_head[j] == kNoPfn) ++j;
    if (j > kMaxOrder) {
      if (!Carve(node)) return std::nullopt;
      continue;
    }
    const Pfn pfn = node.free_head[j];
    Unlink(node, pfn, j);
    // Split: the upper halves go back on the lower lists (the kernel's expand()).
    while (j > order) {
      --j;
      Push(node, pfn + (Pfn{1} << j), j);
    }
    return pfn;
  }
}

std::optional<Pfn> Memory::Alloc(uint32_t nid, uint32_t order) {
  if (order > kMaxOrder) return std::nullopt;
  const uint32_t n = static_cast<uint32_t>(nodes_.size());
  for (uint32_t i = 0; i < 2 * n; ++i) {
    if (i == n) {
      // Every node failed: the slow path's drain_all_pages gives the pcp pages back to the
      // buddy lists, where they merge, and the zonelist is walked again.
      bool drained = false;
      for (Node& node : nodes_) {
        while (node.pcp_count > 0) BuddyFree(node, PcpUnlink(node, node.pcp_tail), 0), drained = true;
      }
      if (!drained) break;
    }
    Node& node = nodes_[(nid + i) % n];
    std::optional<Pfn> pfn = AllocFromNode(node, order);
    if (!pfn) continue;
    Frame& head = At(*pfn);
    head.state = FrameState::kAllocated;
    head.order = static_cast<uint8_t>(order);
    head.refcount = 1;
    head.pp_ref_count = 0;
    head.pp_magic = 0;
    head.dma_addr = 0;
    head.pool = 0;
    head.flags = order > 0 ? kFrameCompoundHead : 0;
    ++head.generation;
    for (Pfn t = 1; t < (Pfn{1} << order); ++t) {
      Frame& tail = Touch(*pfn + t);
      tail.state = FrameState::kTail;
      tail.order = 0;
    }
    free_pages_ -= Pfn{1} << order;
    return pfn;
  }
  return std::nullopt;
}

uint32_t Memory::AllocBulk(uint32_t nid, uint32_t n, Pfn* out) {
  uint32_t got = 0;
  while (got < n) {
    std::optional<Pfn> pfn = Alloc(nid, 0);
    if (!pfn) break;
    out[got++] = *pfn;
  }
  return got;
}

void Memory::Free(Pfn head) {
  Frame& f = At(head);
  const uint32_t order = f.order;
  Node& node = nodes_[NodeOf(head)];
  free_pages_ += Pfn{1} << order;
  for (Pfn t = 1; t < (Pfn{1} << order); ++t) At(head + t).state = FrameState::kFreeTail;
  f.flags = 0;
  f.pool = 0;
  if (order > 0) {
    BuddyFree(node, head, order);
    return;
  }
  PcpPush(node, head);
  if (node.pcp_count > kPcpHigh) {  // free_pcppages_bulk: the oldest go back to the buddy
    for (uint64_t i = 0; i < kPcpBatch; ++i) BuddyFree(node, PcpUnlink(node, node.pcp_tail), 0);
  }
}

void Memory::BuddyFree(Node& node, Pfn head, uint32_t order) {
  Pfn pfn = head;
  while (order < kMaxOrder) {
    const Pfn buddy = pfn ^ (Pfn{1} << order);
    if (buddy < node.start || buddy >= node.end) break;
    const Frame* b = Peek(buddy);
    if (b == nullptr || b->state != FrameState::kFree || b->order != order ||
        (b->flags & kFramePcp) != 0) {
      break;
    }
    Unlink(node, buddy, order);
    At(buddy).state = FrameState::kFreeTail;
    At(pfn).state = FrameState::kFreeTail;
    pfn = std::min(pfn, buddy);
    ++order;
  }
  Push(node, pfn, order);
}

std::string Memory::CheckFreeLists() const {
  uint64_t pages = 0;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    pages += node.end - node.frontier;
    for (uint32_t order = 0; order <= kMaxOrder; ++order) {
      const std::string list = "node " + std::to_string(n) + " order " + std::to_string(order);
      Pfn prev = kNoPfn;
      uint64_t steps = 0;
      for (Pfn pfn = node.free_head[order]; pfn != kNoPfn;) {
        if (pfn < node.start || pfn >= node.frontier || (pfn & ((Pfn{1} << order) - 1)) != 0) {
          return "free list of " + list + " reaches pfn " + std::to_string(pfn) +
                 ", outside the node's carved range or misaligned";
        }
        const Frame* f = Peek(pfn);
        if (f == nullptr || f->state != FrameState::kFree || f->order != order) {
          return "free list of " + list + " holds pfn " + std::to_string(pfn) +
                 ", which is not a free block of that order";
        }
        if (f->dma_addr != prev) {
          return "free list of " + list + ": pfn " + std::to_string(pfn) +
                 " links back to " + std::to_string(f->dma_addr) + ", not " + std::to_string(prev);
        }
        if (++steps > (node.end - node.start)) return "free list of " + list + " has a cycle";
        pages += Pfn{1} << order;
        prev = pfn;
        pfn = f->pp_magic;
      }
    }
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    const std::string list = "pcp list of node " + std::to_string(n);
    Pfn prev = kNoPfn;
    uint64_t steps = 0;
    for (Pfn pfn = node.pcp_head; pfn != kNoPfn;) {
      const Frame* f = Peek(pfn);
      if (f == nullptr || f->state != FrameState::kFree || f->order != 0 ||
          (f->flags & kFramePcp) == 0 || f->dma_addr != prev) {
        return list + " holds pfn " + std::to_string(pfn) + ", not a free pcp page linked back to " +
               std::to_string(prev);
      }
      if (++steps > node.pcp_count) return list + " is longer than its count";
      ++pages;
      prev = pfn;
      pfn = f->pp_magic;
    }
    if (steps != node.pcp_count || prev != node.pcp_tail) {
      return list + " has " + std::to_string(steps) + " pages, its count says " +
             std::to_string(node.pcp_count);
    }
  }
  if (pages != free_pages_) {
    return "free lists and frontiers hold " + std::to_string(pages) + " pages, free_pages says " +
           std::to_string(free_pages_);
  }
  return "";
}

}  // namespace ppsim::sim
