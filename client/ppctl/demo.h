// `ppctl demo`: the seed thread's story (docs/kernel/page-pool.md §4.4) once per teardown strategy,
// on an embedded lab or, with --target, on labs of a running ppsimd.
#ifndef PPSIM_CLIENT_PPCTL_DEMO_H_
#define PPSIM_CLIENT_PPCTL_DEMO_H_

#include <cstdint>
#include <string>

#include "client/lib/client.h"

namespace ppsim::ppctl {

struct DemoOptions {
  uint64_t seed = 1;
  bool verbose = false;
  std::string target;  // "" = embedded
  double connect_timeout_s = 5;
  client::Client::Options connection;  // TLS and token for --target
  std::string metrics;  // the daemon's /metrics URL, printed with the labs to look at
  bool keep = false;    // keep the daemon's labs (implied by --metrics)
};

// Returns the process exit code (docs/design.md §6): 0 when the demo ran as expected.
int RunDemo(const DemoOptions& opts);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_DEMO_H_
