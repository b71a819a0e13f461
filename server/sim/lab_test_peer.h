// Tests' way into a lab's Machine: to look at state no snapshot shows (free lists, readers,
// the profile's switches) and to set up what no op can (counters near their wrap). Everything
// else outside server/sim reads a lab through its snapshots and KernelView (lab.h), so that
// every change to the model is an op in the trace and the digest (docs/design.md §3.1).
//
// Only tests, benchmarks and fuzzers include this; the layering check fails any other file
// outside server/sim that names it (tests/layering/layers.txt, `internal`).
#ifndef PPSIM_SERVER_SIM_LAB_TEST_PEER_H_
#define PPSIM_SERVER_SIM_LAB_TEST_PEER_H_

#include "server/sim/lab.h"
#include "server/sim/machine.h"

namespace ppsim::sim {

class LabTestPeer {
 public:
  static Machine& machine(Lab& lab) { return *lab.m_; }
  static const Machine& machine(const Lab& lab) { return *lab.m_; }
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_LAB_TEST_PEER_H_
