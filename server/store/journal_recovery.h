// Rebuilding labs from the journal at start: docs/design.md §7, "a restarted daemon rebuilds its labs
// by replaying their logs". The registry that hosts the labs (server/service's
// LabRegistry::Recover) walks the journal; what a batch must satisfy to count as replayed, and
// the report of what was found, live here beside the format they read.
//
// Each live lab is created from its stored config and its batches are re-applied in order;
// after every batch the rebuilt digest must equal the digest journaled with it. A lab whose
// replay diverges (an op rejected, a digest that differs: a model change between versions, or
// a damaged file) is kept as far as it rebuilt and flagged: LabEntry::recovery_problem, an
// error line in the daemon's log, and `mismatched` here.
#ifndef PPSIM_SERVER_STORE_JOURNAL_RECOVERY_H_
#define PPSIM_SERVER_STORE_JOURNAL_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ppsim/v1/ops.pb.h"
#include "server/sim/lab.h"
#include "server/store/journal.h"

namespace ppsim::store {

struct RecoveredLab {
  uint64_t id = 0;
  uint64_t ops = 0;      // ops replayed
  uint64_t batches = 0;  // batches replayed
  uint64_t digest = 0;   // after the replay
  std::string problem;   // "" when every batch's digest matched
};

struct RecoveryReport {
  std::vector<RecoveredLab> labs;  // the live labs, by id
  uint64_t deleted = 0;            // labs the journal knows as deleted (ids not reused)
  uint64_t next_id = 1;            // the id the next CreateLab gets
  uint64_t mismatched = 0;         // labs with a problem
  uint64_t ops = 0;                // ops replayed in all
};

// What replaying one journaled batch found.
struct ReplayedBatch {
  std::string problem;  // "" when the batch replayed to its journaled digest
  bool stop = false;    // the rest of the log cannot apply (a gap, a bad blob, a rejected op)
};

// Applies `batch`'s ops through `apply` (which applies one op to `lab`, as the registry does
// for a live RPC) and compares the digest after them with the journaled one. `lab` must be at
// batch.first_op.
ReplayedBatch ReplayBatch(
    const sim::Lab& lab, const JournalBatch& batch,
    const std::function<absl::StatusOr<sim::OpResult>(const v1::Op&)>& apply);

}  // namespace ppsim::store

#endif  // PPSIM_SERVER_STORE_JOURNAL_RECOVERY_H_
