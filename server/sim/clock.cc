#include "server/sim/clock.h"

namespace ppsim::sim {

TimerId VirtualClock::Schedule(Nanos at, std::string name, Work work) {
  if (at < now_) at = now_;
  const TimerId id = next_seq_++;
  timers_.emplace(std::make_pair(at, id), Timer{std::move(name), std::move(work)});
  due_by_id_.emplace(id, at);
  return id;
}

bool VirtualClock::Cancel(TimerId id) {
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  timers_.erase({it->second, id});
  due_by_id_.erase(it);
  return true;
}

void VirtualClock::AdvanceTo(Nanos until) {
  while (!timers_.empty() && timers_.begin()->first.first <= until) {
    auto node = timers_.extract(timers_.begin());
    due_by_id_.erase(node.key().second);
    if (node.key().first > now_) now_ = node.key().first;
    running_ = std::move(node.mapped().name);
    node.mapped().work();
    running_.clear();
  }
  if (until > now_) now_ = until;
}

}  // namespace ppsim::sim
