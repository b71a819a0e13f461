// The comparison of the model with the kernel for one sequence (issue 12 item 4): the `.ops`
// file run on the model (model_run.h) against the kernel's observation file of the same
// sequence (kernel_observation.h), op by op (compare.h).
//
// Example:
//   absl::StatusOr<SequenceResult> r = CompareFiles(
//       "tests/oracle/sequences/destroy-held-dma.ops", "tests/oracle/observed/6.12", "v6.8");
//   r->comparison.agree() or r->comparison.divergences[0] (op, field, kernel and model values)
#ifndef PPSIM_CLIENT_ORACLE_ORACLE_H_
#define PPSIM_CLIENT_ORACLE_ORACLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/oracle/compare.h"
#include "client/oracle/kernel_observation.h"
#include "client/oracle/ops_file.h"

namespace ppsim::oracle {

struct SequenceResult {
  std::string sequence;
  std::string observation_path;
  std::string kernel_version;  // "6.12.95"
  std::string profile;         // the model's kernel profile
  size_t ops = 0;
  Comparison comparison;
};

// The model profile for a kernel series: "v<series>" when the model has it, else the newest
// x86-64 profile older than the series (the profiles are kernel eras: docs/design.md §3.7).
// INVALID_ARGUMENT when every profile is newer.
absl::StatusOr<std::string> ProfileForSeries(absl::string_view series);

// Runs `ops` on the model with `profile` ("" = ProfileForSeries of the kernel's series) and
// compares it with `kernel`. INVALID_ARGUMENT when the observation is of other ops (another
// version of the sequence) or the profile is unknown; UNIMPLEMENTED naming the file, line and
// op when the model cannot express an op.
absl::StatusOr<SequenceResult> CompareSequence(const OpsFile& ops, const KernelRun& kernel,
                                               const std::string& profile);
// The same from files: `observed_dir`/<sequence>.json (NOT_FOUND when missing).
absl::StatusOr<SequenceResult> CompareFiles(const std::string& ops_path,
                                            const std::string& observed_dir,
                                            const std::string& profile);

// Where scripts/oracle.sh writes 6.12's observations: ${XDG_CACHE_HOME:-$HOME/.cache}/ppsim/
// oracle/out/6.12.
std::string DefaultObservedDir();

// `op 5 "page_pool_destroy pool=1": pool 1 held_dma_nonzero: kernel 0, model 6`
std::string FormatDivergence(const Divergence& d);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_ORACLE_H_
