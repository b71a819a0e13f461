// `ppctl demo`: drives an embedded lab through the seed thread's story and prints what it did.
#ifndef PPSIM_CLIENT_PPCTL_DEMO_H_
#define PPSIM_CLIENT_PPCTL_DEMO_H_

#include <cstdint>
#include <string>

namespace ppsim::ppctl {

struct DemoOptions {
  std::string profile = "v6.8";
  uint64_t seed = 1;
  bool verbose = false;
};

// Returns the process exit code (design.md §6): 0 when the demo ran as expected.
int RunDemo(const DemoOptions& opts);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_DEMO_H_
