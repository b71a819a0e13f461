// The workload flags `ppctl chaos` and `ppctl soak` share (what runs, where, with which seed),
// registered once so the two commands cannot drift apart.
#ifndef PPSIM_CLIENT_PPCTL_CHAOS_FLAGS_H_
#define PPSIM_CLIENT_PPCTL_CHAOS_FLAGS_H_

#include <CLI/CLI.hpp>

#include "client/chaos/chaos_cli.h"

namespace ppsim::ppctl {

// --target, --connect-timeout, --seed, --strategy, --profile, --weights, --fault, --scenario,
// --liveness, --fail-on.
void AddChaosWorkloadFlags(CLI::App* cmd, chaos::ChaosCliFlags* r);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_CHAOS_FLAGS_H_
