// Simulated physical memory: page frames in sparse sections and a buddy allocator
// (docs/design.md §3.2).
//
// Frames live in sections of 2^14 pages (64 MiB) that are materialised on first touch, so a
// 16 TiB lab costs host memory only for the sections its allocations reach. The allocator
// carves max-order blocks from a per-node frontier lazily and keeps LIFO free lists per order,
// like the kernel's hot-page lists: a page freed now is the next one handed out, which is what
// makes use-after-free and reuse bugs visible.
#ifndef PPSIM_SERVER_SIM_MEMORY_H_
#define PPSIM_SERVER_SIM_MEMORY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/sim/types.h"

namespace ppsim::sim {

enum class FrameState : uint8_t {
  kFreeTail = 0,  // inside a free buddy block but not its head (also: never touched)
  kFree,          // head of a free block of `order`, on a free list
  kAllocated,     // allocated head of an ordinary (non-pool) page
  kTail,          // tail page of an allocated compound page
  kPoolCache,     // owned by a pool, sitting in its alloc cache
  kPoolRing,      // owned by a pool, sitting in its ptr_ring
  kPoolOut,       // owned by a pool and handed out (driver, stack, frag page)
};
const char* FrameStateName(FrameState s);

inline constexpr uint8_t kFramePfmemalloc = 1 << 0;   // page_is_pfmemalloc()
inline constexpr uint8_t kFrameCompoundHead = 1 << 1;  // PageHead() of an order > 0 page
inline constexpr uint8_t kFramePcp = 1 << 2;  // free, on its node's per-CPU list (not buddy)
// Freed by a kernel that does not check pages on free (free_checks_pages off) while its pool
// still counted it in flight: on the kernel's free lists, kept off the model's own (a pool's
// teardown may still write to it). Never cleared: the model never hands the frame out again.
inline constexpr uint8_t kFrameFreedUnchecked = 1 << 3;

// The fields of struct page the pool uses (docs/kernel/page-pool.md §1.1). Who holds a page outside
// the pool is in its event history (skb_attach, get_page), not in the frame. While a frame is free,
// `pp_magic` and `dma_addr` hold the free-list links, as the kernel overlays lru on pp_magic.
struct Frame {
  uint64_t pp_magic = 0;     // signature | DMA index bits (v6.15+); free: next free block
  uint64_t dma_addr = 0;     // the pool's mapping of the page; free: previous free block
  int64_t pp_ref_count = 0;  // pp references (pp_frag_count before 6.8); BIAS_MAX for frags
  uint64_t last_event = 0;   // head of the page's event chain in the PageEventLog (0 = none)
  int32_t refcount = 0;      // _refcount
  PoolId pool = 0;           // page->pp, 0 when not a pool page
  uint32_t generation = 0;   // bumped whenever the page is handed to a new user
  FrameState state = FrameState::kFreeTail;
  uint8_t order = 0;
  uint8_t flags = 0;

  bool pfmemalloc() const { return flags & kFramePfmemalloc; }
  bool pool_owned() const {
    return state == FrameState::kPoolCache || state == FrameState::kPoolRing ||
           state == FrameState::kPoolOut;
  }
  bool is_free() const { return state == FrameState::kFree || state == FrameState::kFreeTail; }
};
static_assert(sizeof(Frame) <= 64, "host_bytes_per_frame target is 64");

// What the daemon's quotas read of a lab's memory (docs/design.md §7: materialised frames per
// lab), copied out so that no caller outside the model holds the allocator.
struct MemoryStats {
  uint64_t num_pages = 0;
  uint64_t free_pages = 0;
  uint64_t materialised_sections = 0;  // of Memory::kSectionPages frames (the last may be cut)
  uint64_t host_bytes = 0;
};

class Memory {
 public:
  static constexpr uint32_t kMaxOrder = 10;  // MAX_PAGE_ORDER
  static constexpr uint32_t kSectionShift = 14;
  static constexpr uint64_t kSectionPages = uint64_t{1} << kSectionShift;
  static constexpr Pfn kNoPfn = ~Pfn{0};

  Memory(uint64_t num_pages, uint32_t numa_nodes);

  uint64_t num_pages() const { return num_pages_; }
  uint32_t numa_nodes() const { return static_cast<uint32_t>(nodes_.size()); }
  uint32_t NodeOf(Pfn pfn) const;
  bool Valid(Pfn pfn) const { return pfn < num_pages_; }

  // nullptr when the frame's section was never materialised (the frame is then untouched:
  // free, never allocated).
  Frame* Peek(Pfn pfn) {
    const auto& s = sections_[pfn >> kSectionShift];
    return s ? &s[pfn & (kSectionPages - 1)] : nullptr;
  }
  const Frame* Peek(Pfn pfn) const {
    const auto& s = sections_[pfn >> kSectionShift];
    return s ? &s[pfn & (kSectionPages - 1)] : nullptr;
  }
  // The frame, materialising its section. pfn must be Valid.
  Frame& Touch(Pfn pfn);
  Frame& At(Pfn pfn) { return *Peek(pfn); }  // precondition: materialised

  // Allocates a 2^order block on node `nid` (falling back to other nodes in order, as the
  // kernel's zonelist does). The head frame gets state kAllocated, refcount 1, a new
  // generation, and the compound-head flag if order > 0; tails get kTail.
  std::optional<Pfn> Alloc(uint32_t nid, uint32_t order);
  // Bulk order-0 allocation (alloc_pages_bulk_node): up to n pages, returns how many.
  uint32_t AllocBulk(uint32_t nid, uint32_t n, Pfn* out);
  // Returns an allocated block (head with refcount already 0) to the free lists and merges it
  // with free buddies. The caller has done the bad-page checks.
  void Free(Pfn head);

  uint64_t free_pages() const { return free_pages_; }
  uint64_t materialised_sections() const { return materialised_; }
  // Host memory held by frames and the section directory.
  uint64_t host_bytes() const;
  MemoryStats stats() const { return {num_pages_, free_pages_, materialised_, host_bytes()}; }

  // Walks every free list (server/sim/invariants.h): each entry in range, a free head of the
  // list's order on the list's node, links consistent both ways, no cycle, and the pages on the
  // lists plus the untouched frontiers equal free_pages(). An empty string when all hold.
  std::string CheckFreeLists() const;

  // Visits every materialised frame in pfn order: f(pfn, frame).
  template <class F>
  void ForEachMaterialisedFrame(F&& f) {
    for (size_t s = 0; s < sections_.size(); ++s) {
      if (!sections_[s]) continue;
      const Pfn base = Pfn{s} << kSectionShift;
      const uint64_t n = std::min<uint64_t>(kSectionPages, num_pages_ - base);
      for (uint64_t i = 0; i < n; ++i) f(base + i, sections_[s][i]);
    }
  }

 private:
  struct Node {
    Pfn start = 0;
    Pfn end = 0;
    Pfn frontier = 0;  // pages at and above are untouched free memory
    std::array<Pfn, kMaxOrder + 1> free_head;
    // The per-CPU page list of order-0 frees (mm/page_alloc.c free_unref_page, rmqueue_pcplist):
    // a page freed goes on the head and the next order-0 allocation takes the head, so the
    // last page freed is the first handed out; past kPcpHigh the oldest kPcpBatch go back to
    // the buddy lists and merge. One list per node (the oracle's guest has one CPU).
    Pfn pcp_head = kNoPfn;
    Pfn pcp_tail = kNoPfn;
    uint64_t pcp_count = 0;
  };
  static constexpr uint64_t kPcpHigh = 1024;
  static constexpr uint64_t kPcpBatch = 64;
  void Push(Node& node, Pfn pfn, uint32_t order);
  void Unlink(Node& node, Pfn pfn, uint32_t order);
  void PcpPush(Node& node, Pfn pfn);
  Pfn PcpUnlink(Node& node, Pfn pfn);
  void BuddyFree(Node& node, Pfn head, uint32_t order);
  bool Carve(Node& node);
  std::optional<Pfn> AllocFromNode(Node& node, uint32_t order);

  uint64_t num_pages_;
  std::vector<Node> nodes_;
  uint64_t pages_per_node_;
  std::vector<std::unique_ptr<Frame[]>> sections_;
  uint64_t materialised_ = 0;
  uint64_t materialised_frames_ = 0;
  uint64_t free_pages_;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_MEMORY_H_
