#include "server/store/journal_recovery.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ppsim::store {

ReplayedBatch ReplayBatch(
    const sim::Lab& lab, const JournalBatch& batch,
    const std::function<absl::StatusOr<sim::OpResult>(const v1::Op&)>& apply) {
  if (lab.trace().size() != batch.first_op) {
    return {absl::StrCat("the journal resumes at op ", batch.first_op, " but the rebuilt lab has ",
                         lab.trace().size(), " ops (a batch is missing)"),
            true};
  }
  v1::ApplyRequest ops;
  if (!ops.ParseFromString(batch.ops) || static_cast<uint64_t>(ops.ops_size()) != batch.op_count) {
    return {absl::StrCat("the batch at op ", batch.first_op, " does not decode as ", batch.op_count,
                         " ops"),
            true};
  }
  for (int i = 0; i < ops.ops_size(); ++i) {
    if (absl::StatusOr<sim::OpResult> r = apply(ops.ops(i)); !r.ok()) {
      return {absl::StrCat("op ", batch.first_op + i,
                           " was rejected on replay: ", r.status().message()),
              true};
    }
  }
  if (lab.digest() != batch.digest) {
    // The log still applies, so keep replaying it: it is the lab's state; the digest check
    // only says the model now computes it differently.
    return {absl::StrFormat(
                "batch at op %d (%d ops): digest after op %d is %016x on replay, %016x in the "
                "journal",
                batch.first_op, batch.op_count, batch.first_op + batch.op_count, lab.digest(),
                batch.digest),
            false};
  }
  return {};
}

}  // namespace ppsim::store
