// Reads one observation file of the kernel oracle (`OUT/<series>/<sequence>.json`,
// tests/oracle/README.md "What is observed") into OpObs, mapping the kernel's ids to the
// sequence's indices through the observation itself: pool ids through `kmod.pools`, ifindexes
// through `kmod.netdevs`, NAPI ids through `kmod.napis`. Netlink entries of pools that are not
// the sequence's (leaked by an earlier sequence of the same boot) are left out. The epilogue
// (the runner's reset) is not an op of the sequence and is not returned.
#ifndef PPSIM_CLIENT_ORACLE_KERNEL_OBSERVATION_H_
#define PPSIM_CLIENT_ORACLE_KERNEL_OBSERVATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/oracle/observation.h"

namespace ppsim::oracle {

struct KernelRun {
  std::string path;
  std::string kernel;          // uname -r: "6.12.95+deb12-amd64"
  std::string debian_version;  // "6.12.95-1~bpo12+1"
  std::string series;          // "6.12"
  std::string sequence;
  std::vector<OpObs> ops;

  // The upstream version the kernel was built from: "6.12.95".
  std::string Version() const;
};

// INVALID_ARGUMENT naming the file and what is malformed; NOT_FOUND when it cannot be read.
absl::StatusOr<KernelRun> ParseKernelObservation(absl::string_view path, absl::string_view json);
absl::StatusOr<KernelRun> ReadKernelObservation(const std::string& path);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_KERNEL_OBSERVATION_H_
