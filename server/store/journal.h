// The durable journal (docs/design.md §7): an embedded SQLite database in --data-dir that holds every
// lab's config and op log, and every violation record, committed before the RPC that produced
// them returns. The model is deterministic (docs/design.md §3.1), so a lab's state *is* its config
// plus its log: a restarted daemon rebuilds each lab by replaying it (journal_recovery.h).
//
// The API has no separate notion of a run: a lab is the run, so the `labs` table is the runs
// table (created/deleted times, owner, config).
//
// Schema (version 2; `schema_version` holds it, a newer file is refused, a version 1 file is
// migrated in place at Open by adding the two nullable columns of version 2):
//   labs(id PK, name, owner, config BLOB = ppsim.v1.LabConfig as resolved, created_ms,
//        deleted_ms NULL while live)
//   batches(lab, first_op, PK(lab, first_op); op_count, ops BLOB, digest, now_ns, violations,
//           committed_ms, request_id NULL, rejected NULL) — one row per Apply batch (group
//           commit). `request_id` is the batch's ApplyRequest.request_id (NULL without one, and
//           in rows written by version 1); `rejected` the ppsim.v1.Rejection that stopped the
//           batch (NULL when every op applied): with the row's other columns they are what a
//           retried request id is answered with after a restart (request_window.h). `ops` is a serialized
//           ppsim.v1.ApplyRequest with only `ops` set: the ops the batch applied, in order, so
//           any protobuf reader can decode it. One row per batch rather than per op: a 1024-op
//           batch costs one insert, not 1024. `digest` is the lab's digest after the batch
//           (uint64 stored bit for bit in SQLite's signed INTEGER).
//   violations(lab, seq, PK(lab, seq); op_index, code, name, severity, time_ns, message,
//              record BLOB = ppsim.v1.Violation) — every violation the lab raised, seq being
//              its number in the lab (0-based). The first LabConfig.max_violation_records
//              are the full records ListViolations serves (history, faults); past that cap
//              the lab keeps only counts in memory, but the journal still keeps each one as
//              its Watch event told it (id, name, severity, op, time, message), so nothing a
//              client was shown is missing from the journal.
//
// Durability: WAL mode. Sync::kNormal (synchronous=NORMAL) makes each commit a write(2) to the
// WAL without fsync: a commit survives the daemon being killed (kill -9, OOM, a crash), because
// the data is in the kernel's page cache once write(2) returns; a power loss or kernel panic
// can lose the last commits (never corrupt the file). Sync::kFull (synchronous=FULL) fsyncs the
// WAL on every commit and survives power loss too, at the price of one fsync per batch
// (measured in-process on the dev VM: NORMAL adds ~15 us per commit, FULL ~5-6 ms).
// (https://www.sqlite.org/wal.html, "Performance Considerations"; pragma.html#pragma_synchronous.)
//
// The connection runs in locking_mode=EXCLUSIVE: a second ppsimd on the same --data-dir gets
// "in use" at Open instead of interleaving lab ids, and the WAL index lives in heap memory
// (no -shm file, fewer syscalls per commit).
//
// Thread-safe: one connection behind a mutex; lab ops run in parallel and their commits take
// turns. Lock order: a lab's mutex, then the journal's.
#ifndef PPSIM_SERVER_STORE_JOURNAL_H_
#define PPSIM_SERVER_STORE_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/store/mutex.h"
#include "absl/types/span.h"
#include "ppsim/v1/service.pb.h"
#include "server/sim/events.h"
#include "server/sim/violation.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ppsim::store {

// The file name inside --data-dir.
inline constexpr char kJournalFileName[] = "journal.sqlite3";

// One Apply batch as the journal stores it.
struct JournalBatch {
  uint64_t lab = 0;
  uint64_t first_op = 0;  // trace index of the batch's first applied op
  uint64_t op_count = 0;
  std::string ops;      // JournalOpLog::Append'ed ops (the ApplyRequest wire format)
  uint64_t digest = 0;  // after the batch
  int64_t now_ns = 0;
  uint64_t violations = 0;  // the lab's total after the batch
  std::string request_id;   // "" = none
  std::optional<v1::Rejection> rejected;  // what stopped the batch, if anything did
  // Writing only: the batch's violations are `violations - first_violation`; the first of them
  // are `new_records` (what the lab kept), the rest the last kViolation `events` (dropped by
  // the lab's record cap).
  uint64_t first_violation = 0;
  absl::Span<const sim::Violation> new_records;
  absl::Span<const sim::Event> events;
};

// Appends `op` to `log` as field 2 of ppsim.v1.ApplyRequest (tag, length, message), so that a
// whole log parses as an ApplyRequest.
void AppendOpToLog(const v1::Op& op, std::string* log);

struct JournalLab {
  uint64_t id = 0;
  std::string name;
  std::string owner;
  v1::LabConfig config;
  bool deleted = false;
};

class Journal {
 public:
  enum class Sync { kNormal, kFull };

  // Opens (creating if needed) the journal file at `path`. UNAVAILABLE naming the path when it
  // cannot be opened or another process holds it; FAILED_PRECONDITION for a schema newer than
  // this build.
  static absl::StatusOr<std::unique_ptr<Journal>> Open(const std::string& path,
                                                       Sync sync = Sync::kNormal);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }

  // Each call is one committed transaction; when it returns OK the record survives a kill.
  absl::Status RecordLabCreated(uint64_t id, const std::string& name, const std::string& owner,
                                const v1::LabConfig& config);
  absl::Status RecordLabDeleted(uint64_t id);
  absl::Status AppendBatch(const JournalBatch& batch);

  // Reading, for recovery and tools. Labs ordered by id, batches by first_op, violations by seq.
  absl::StatusOr<std::vector<JournalLab>> Labs();
  // Calls `fn` for every batch of `lab` in order; stops at (and returns) its first error.
  // `fn`'s batch has `ops`, `request_id` and `rejected` set and no `new_records`/`events`
  // (`request_id` is "" for rows of a version 1 journal); `fn` runs under the journal's
  // lock and must not call the journal.
  absl::Status ForEachBatch(uint64_t lab,
                            const std::function<absl::Status(const JournalBatch&)>& fn);
  absl::StatusOr<std::vector<v1::Violation>> Violations(uint64_t lab);

 private:
  Journal() = default;
  absl::Status Init(Sync sync) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<sqlite3_stmt*> Prepare(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // UNAVAILABLE with sqlite's message.
  absl::Status Error(absl::string_view what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Commit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Rollback() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string path_;
  ppsim::Mutex mu_;  // guards the connection and every statement
  sqlite3* db_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* begin_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* commit_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* rollback_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* insert_lab_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* delete_lab_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* insert_batch_ ABSL_GUARDED_BY(mu_) = nullptr;
  sqlite3_stmt* insert_violation_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace ppsim::store

#endif  // PPSIM_SERVER_STORE_JOURNAL_H_
