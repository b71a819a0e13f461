// ppsim's own invariants: properties of the model's data structures that hold after every op,
// whatever the op sequence — every pfn the model stores is in range, every skb points at a
// live shared info whose dataref counts its skbs, frag lists and stack holders point back at
// their members, pool caches and rings stay within their sizes, the buddy free lists are
// well formed and add up to the free page count. They are not the kernel's
// rules (a kernel rule broken by the simulated code is a violation, violation.h); a broken
// invariant is a bug in ppsim.
//
// Lab::Apply checks them after every applied op in builds with PPSIM_CHECK_INVARIANTS (the dev,
// asan, tsan and fuzz presets) and aborts naming the op and the invariant, so a fuzzer or a test
// stops at the op that broke the model instead of at a later crash.
#ifndef PPSIM_SERVER_SIM_INVARIANTS_H_
#define PPSIM_SERVER_SIM_INVARIANTS_H_

#include "absl/status/status.h"

namespace ppsim::sim {

class Machine;

// OK, or INTERNAL naming the first broken invariant and the object.
absl::Status CheckInvariants(const Machine& m);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_INVARIANTS_H_
