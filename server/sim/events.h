// What a lab tells the outside world: kernel log lines, pool notifications (the netlink
// page-pool-{add,del,change}-ntf), fault activations and violations. The daemon fans them out
// to Watch streams; embedded users drain them with Lab::TakeEvents().
#ifndef PPSIM_SERVER_SIM_EVENTS_H_
#define PPSIM_SERVER_SIM_EVENTS_H_

#include <bit>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "server/sim/types.h"

namespace ppsim::sim {

enum class EventKind : uint8_t {
  kKernelLog = 0,   // a line the kernel would print (text is the exact message)
  kPoolAdd = 1,     // page-pool-add-ntf
  kPoolDel = 2,     // page-pool-del-ntf
  kPoolChange = 3,  // page-pool-change-ntf (detached, orphaned to lo)
  kFault = 4,       // a fault-injection decision
  kViolation = 5,   // a checker violation (text: "PPnnn name: explanation")
  kDevice = 6,      // device lifecycle (bound, unbound, removed)
};
const char* EventKindName(EventKind k);

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kErr = 3, kCrit = 4 };
const char* LogLevelName(LogLevel l);

struct Event {
  uint64_t seq = 0;       // per lab, from 1, never reused
  Nanos time = 0;
  uint64_t op_index = 0;  // index in the trace of the op that caused it
  EventKind kind = EventKind::kKernelLog;
  LogLevel level = LogLevel::kInfo;
  PoolId pool = 0;
  DeviceId device = 0;
  std::string text;
};

// Bounded queue of events not yet taken. When nobody drains it, the oldest are dropped and
// counted, so an embedded lab never grows without bound.
class EventLog {
 public:
  explicit EventLog(size_t capacity = 65536) : capacity_(capacity) {}
  void Append(Event e);
  std::vector<Event> Take();
  uint64_t total() const { return next_seq_ - 1; }
  uint64_t dropped() const { return dropped_; }
  size_t size() const { return events_.size(); }
  uint64_t next_seq() const { return next_seq_; }

 private:
  size_t capacity_;
  std::deque<Event> events_;
  uint64_t next_seq_ = 1;
  uint64_t dropped_ = 0;
};

// One step in a page's life, kept compactly for violation explanations ("the page's last 16
// events"). Events of one page are chained through `prev`.
enum class PageEventKind : uint8_t {
  kBuddyAlloc,     // taken from the page allocator
  kBuddyFree,      // given back to the page allocator
  kPoolHold,       // entered a pool (page_pool_state_hold; pages_state_hold_cnt++)
  kHandout,        // handed out by the pool (alloc fast/refill/slow)
  kFragHandout,    // another fragment handed out from the current frag page
  kRecycleCache,   // put into the alloc cache
  kRecycleRing,    // produced into the ptr_ring
  kRelease,        // left the pool (page_pool_state_release; release_cnt++)
  kDmaMap,
  kDmaUnmap,
  kDmaSync,
  kGetPage,        // _refcount++ by someone outside the pool
  kPutPage,        // _refcount-- by someone outside the pool
  kPpRef,          // pp_ref_count++
  kPpPut,          // a pp reference dropped (page_pool_put_page)
  kDeviceDma,      // the device touched the page through an IOVA
  kFault,          // a fault-injection decision that concerned this page
  kViolation,      // a violation was raised on this page
  kScrubUnmap,     // a destroy-time walk unmapped the page without a reference
  kConvert,        // release-on-destroy turned pp references into page references
  kCpuAccess,      // a CPU access through a handle
  kRefMismatch,    // an skb dropped a different kind of reference than its slot held
  kSkbAttach,      // the page became a frag or head of an skb (aux: skb id)
};
const char* PageEventKindName(PageEventKind k);

struct PageEvent {
  Nanos time = 0;
  uint64_t op_index = 0;
  uint64_t prev = 0;  // index of the page's previous event, 0 = none
  uint64_t aux = 0;   // kind-specific: dma address, refcount after, fault site, violation id
  Pfn pfn = 0;
  PoolId pool = 0;
  PageEventKind kind = PageEventKind::kBuddyAlloc;
  CtxKind ctx = CtxKind::kProcess;
  uint16_t cpu = 0;
};

// Ring of page events with per-page chains (each frame stores its newest index). Memory is
// bounded by the capacity; a chain simply ends where the ring has overwritten it.
class PageEventLog {
 public:
  // The capacity is rounded up to a power of two so the ring index is a mask (hot path).
  explicit PageEventLog(uint32_t capacity) : capacity_(std::bit_ceil(capacity)) {}
  // Appends and returns the new index (>= 1). `head` is the frame's last_event, updated.
  uint64_t Append(uint64_t& head, const PageEvent& e);
  // Newest first, at most `n` events, following the chain from `head`.
  std::vector<PageEvent> History(uint64_t head, size_t n) const;
  // Every event of the chain still in the ring that satisfies pred, newest first.
  template <class Pred>
  std::vector<PageEvent> Collect(uint64_t head, Pred pred, size_t limit) const {
    std::vector<PageEvent> out;
    for (uint64_t i = head; Live(i) && out.size() < limit; i = Get(i).prev) {
      if (pred(Get(i))) out.push_back(Get(i));
    }
    return out;
  }
  // Every event appended after index `after` that the ring still holds, oldest first.
  template <class Fn>
  void ForEachAfter(uint64_t after, Fn fn) const {
    const uint64_t oldest = next_ > capacity_ ? next_ - capacity_ : 1;
    for (uint64_t i = after + 1 > oldest ? after + 1 : oldest; i < next_; ++i) fn(Get(i));
  }
  uint64_t size() const { return next_ - 1; }
  size_t host_bytes() const { return ring_.capacity() * sizeof(PageEvent); }

 private:
  bool Live(uint64_t i) const { return i != 0 && i < next_ && next_ - i <= capacity_; }
  const PageEvent& Get(uint64_t i) const { return ring_[(i - 1) & (capacity_ - 1)]; }
  uint32_t capacity_;
  std::vector<PageEvent> ring_;
  uint64_t next_ = 1;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_EVENTS_H_
