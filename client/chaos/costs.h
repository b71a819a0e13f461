// File: client/chaos/costs.h
// What a teardown strategy cost in one run (docs/design.md §3.6 "each strategy reports its host
// cost, its virtual-time cost, its memory overhead and the lock-hold time it imposes"; §6
// compare), read from the lab's pools after the run (LabFacts: every pool, freed ones too).
#ifndef PPSIM_CLIENT_CHAOS_COSTS_H_
#define PPSIM_CLIENT_CHAOS_COSTS_H_

#include <cstdint>
#include <string>

#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"

namespace ppsim::chaos {

// drain_time_ns:        the longest detach → free of a pool destroyed with pages in flight
//                       (the pool is freed by the retry tick that sees inflight 0,
//                       docs/kernel/page-pool.md §4.3); 0 when no pool had to wait; -1 when
//                       a detached pool never drained.
// max_lock_hold_ns:     the longest BH-disabling hold any pool's strategy imposed (scan).
// removal_latency_ns:   the longest device_del of a device with pools, start to done (a
//                       removal still waiting counts what it waited so far); -1 = none.
// memory_overhead_bytes the strategies' tracking memory at its peak, summed over pools.
// strategy_host_ns:     host time spent in the strategies' destroy-time work, summed.
TeardownCosts CostsOf(const LabFacts& facts);

// "30.000 s", "50.0 ms", "12 us", "0", and "never" / "-" for the -1 of drain / removal.
std::string FormatDrain(int64_t ns);
std::string FormatRemoval(int64_t ns);
std::string FormatNanos(int64_t ns);
std::string FormatBytes(uint64_t bytes);  // "0 B", "576 B", "8.0 KiB", "3.2 MiB"

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_COSTS_H_
