#include "server/sim/events.h"

namespace ppsim::sim {

const char* EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kKernelLog: return "kernel_log";
    case EventKind::kPoolAdd: return "page-pool-add-ntf";
    case EventKind::kPoolDel: return "page-pool-del-ntf";
    case EventKind::kPoolChange: return "page-pool-change-ntf";
    case EventKind::kFault: return "fault";
    case EventKind::kViolation: return "violation";
    case EventKind::kDevice: return "device";
  }
  return "?";
}

const char* LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kErr: return "err";
    case LogLevel::kCrit: return "crit";
  }
  return "?";
}

const char* PageEventKindName(PageEventKind k) {
  switch (k) {
    case PageEventKind::kBuddyAlloc: return "buddy_alloc";
    case PageEventKind::kBuddyFree: return "buddy_free";
    case PageEventKind::kPoolHold: return "page_pool_state_hold";
    case PageEventKind::kHandout: return "pool_handout";
    case PageEventKind::kFragHandout: return "pool_frag_handout";
    case PageEventKind::kRecycleCache: return "recycle_cache";
    case PageEventKind::kRecycleRing: return "recycle_ring";
    case PageEventKind::kRelease: return "page_pool_state_release";
    case PageEventKind::kDmaMap: return "dma_map";
    case PageEventKind::kDmaUnmap: return "dma_unmap";
    case PageEventKind::kDmaSync: return "dma_sync";
    case PageEventKind::kGetPage: return "get_page";
    case PageEventKind::kPutPage: return "put_page";
    case PageEventKind::kPpRef: return "pp_ref";
    case PageEventKind::kPpPut: return "page_pool_put_page";
    case PageEventKind::kDeviceDma: return "device_dma";
    case PageEventKind::kFault: return "fault";
    case PageEventKind::kViolation: return "violation";
    case PageEventKind::kScrubUnmap: return "scrub_unmap";
    case PageEventKind::kConvert: return "convert_to_page_refs";
    case PageEventKind::kCpuAccess: return "cpu_access";
    case PageEventKind::kRefMismatch: return "ref_mismatch";
    case PageEventKind::kSkbAttach: return "skb_attach";
  }
  return "?";
}

void EventLog::Append(Event e) {
  e.seq = next_seq_++;
  if (events_.size() >= capacity_) {
    events_.pop_front();
    ++dropped_;
  }
  events_.push_back(std::move(e));
}

std::vector<Event> EventLog::Take() {
  std::vector<Event> out(std::make_move_iterator(events_.begin()),
                         std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

uint64_t PageEventLog::Append(uint64_t& head, const PageEvent& e) {
  const uint64_t idx = next_++;
  PageEvent& slot = ring_.size() < capacity_ ? ring_.emplace_back() : ring_[(idx - 1) & (capacity_ - 1)];
  slot = e;
  slot.prev = head;
  head = idx;
  return idx;
}

std::vector<PageEvent> PageEventLog::History(uint64_t head, size_t n) const {
  return Collect(head, [](const PageEvent&) { return true; }, n);
}

}  // namespace ppsim::sim
