// What LabRegistry::Recover (journal_recovery.cc) found when it rebuilt the labs of a journal
// at start: design.md §7, "a restarted daemon rebuilds its labs by replaying their logs".
//
// Each live lab is created from its stored config and its batches are re-applied in order;
// after every batch the rebuilt digest must equal the digest journaled with it. A lab whose
// replay diverges (an op rejected, a digest that differs: a model change between versions, or
// a damaged file) is kept as far as it rebuilt and flagged: LabEntry::recovery_problem, an
// error line in the daemon's log, and `mismatched` here.
#ifndef PPSIM_SERVER_SERVICE_JOURNAL_RECOVERY_H_
#define PPSIM_SERVER_SERVICE_JOURNAL_RECOVERY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ppsim::service {

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

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_JOURNAL_RECOVERY_H_
