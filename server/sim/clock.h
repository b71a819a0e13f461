// Virtual time and deferred work (docs/design.md §3.9).
//
// Time moves only when an op advances it (advance_time, or an op whose cost model charges
// time). Deferred work — pool release retries, lazy IOTLB flushes, TCE-wait polls, holder
// expiry — is scheduled at an absolute virtual time and runs in (time, scheduling order)
// order, so two runs of the same trace execute it identically.
#ifndef PPSIM_SERVER_SIM_CLOCK_H_
#define PPSIM_SERVER_SIM_CLOCK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "server/sim/types.h"

namespace ppsim::sim {

using TimerId = uint64_t;

class VirtualClock {
 public:
  using Work = std::function<void()>;

  Nanos now() const { return now_; }

  // Schedules `work` at absolute time `at` (clamped to now). Returns an id for Cancel.
  TimerId Schedule(Nanos at, std::string name, Work work);
  // Returns false if the timer already ran or was cancelled.
  bool Cancel(TimerId id);

  // Runs every timer due at or before `until` in order, moving now() to each timer's time,
  // then sets now() to `until`. Work may schedule more work; work due before `until` runs in
  // the same call.
  void AdvanceTo(Nanos until);
  // Runs the timers that are already due (at <= now()) without moving time.
  void RunDue() { AdvanceTo(now_); }

  size_t pending() const { return timers_.size(); }
  // The time of the next pending timer, or -1.
  Nanos next_deadline() const { return timers_.empty() ? -1 : timers_.begin()->first.first; }
  // Name of the timer currently running ("" outside timers), for event attribution.
  const std::string& running() const { return running_; }

 private:
  struct Timer {
    std::string name;
    Work work;
  };
  Nanos now_ = 0;
  uint64_t next_seq_ = 1;
  std::map<std::pair<Nanos, uint64_t>, Timer> timers_;  // key: (due time, seq == TimerId)
  std::map<TimerId, Nanos> due_by_id_;
  std::string running_;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_CLOCK_H_
