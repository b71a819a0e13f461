// Where `ppctl demo` runs its story: a lab in this process (server/sim through the daemon's
// proto conversion, server/convert) or a lab on ppsimd (client/lib). The story is written once, in op lines,
// against this interface (demo.cc).
#ifndef PPSIM_CLIENT_PPCTL_DEMO_LAB_H_
#define PPSIM_CLIENT_PPCTL_DEMO_LAB_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "ppsim/v1/service.pb.h"

namespace ppsim::ppctl {

// What the story left behind.
struct StoryFacts {
  std::map<std::string, uint64_t> violations;  // by id
  std::string first_crash;                     // the first crash violation's explanation
  uint64_t digest = 0;
  double lock_hold_s = 0;               // the pool's longest BH-disabled lock hold
  std::optional<double> removal_s;      // device removal latency, when the lab says
  std::vector<std::string> kernel_log;  // "[  30.000000] ..." lines, when available
};

class DemoLab {
 public:
  virtual ~DemoLab() = default;
  // The op's result, or the status of a rejected op.
  virtual absl::StatusOr<v1::OpResult> Apply(const v1::Op& op) = 0;
  virtual absl::StatusOr<StoryFacts> Facts(uint32_t pool, uint32_t device) = 0;
  // The daemon's lab id ("7"); "" for an embedded lab.
  virtual std::string Id() const = 0;
};

absl::StatusOr<std::unique_ptr<DemoLab>> NewEmbeddedLab(const v1::LabConfig& config);

// Creates a lab on `client`'s daemon; it is deleted with the DemoLab unless `keep`.
absl::StatusOr<std::unique_ptr<DemoLab>> NewRemoteLab(client::Client* client,
                                                      const std::string& name,
                                                      const v1::LabConfig& config, bool keep);

}  // namespace ppsim::ppctl

#endif  // PPSIM_CLIENT_PPCTL_DEMO_LAB_H_
