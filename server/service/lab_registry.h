// The daemon's labs (docs/design.md §2, §3.1): many labs served in parallel, each lab's ops
// serialised by its own mutex. Applying a batch converts and applies op by op, stops at the
// first rejected op, then hands the lab's new events to the hub. Metrics read the same
// entries at scrape time under the same mutex; nothing on the op path touches Prometheus.
//
// With a journal (journal.h), every change is committed before the call returns: a created
// lab, a deleted lab, and each batch's applied ops, digest and new violation records in one
// transaction (group commit), then the events are published, so a Watch client never sees a
// violation that a crash could take back. Without one (--durability=none) nothing is written.
//
// Lock order (absl's deadlock detector checks it in debug builds; ABSL_GUARDED_BY says what each
// lock guards, checked by clang's -Wthread-safety): a lab entry's mu, then the registry's, the
// hub's, a watcher's; the quota's and the journal's are leaves (nothing is locked under them).
// Quota::AdoptLabs lists the registry before taking its own lock for that reason.
#ifndef PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_
#define PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "server/store/mutex.h"
#include "google/protobuf/repeated_field.h"
#include "ppsim/v1/service.pb.h"
#include "server/service/event_hub.h"
#include "server/service/request_window.h"
#include "server/sim/lab.h"
#include "server/store/journal.h"
#include "server/store/journal_recovery.h"

namespace ppsim::service {

struct LabEntry {
  uint64_t id = 0;
  std::string name;
  std::string owner;
  mutable ppsim::Mutex mu;  // serialises everything below
  std::unique_ptr<sim::Lab> lab ABSL_GUARDED_BY(mu);
  // Applied ops, for ppsim_ops_total{op}; std::less<> so counting needs no string per op.
  std::map<std::string, uint64_t, std::less<>> ops_by_name ABSL_GUARDED_BY(mu);
  // "" unless replaying the journal at start diverged from it (a different digest, or an op
  // the rebuilt lab rejected): the lab is kept, as rebuilt, and the daemon logs it at error.
  // Set before the entry is published, never after; shown as LabInfo.recovery_problem and
  // ppsim_lab_recovery_diverged{lab}.
  std::string recovery_problem;
  // "" unless a journal append failed: the lab is then ahead of its journal, so it refuses
  // further ops (FAILED_PRECONDITION) instead of acknowledging ops a restart would lose.
  std::string journal_error ABSL_GUARDED_BY(mu);
  // The outcomes of its last batches applied under a request id (request_window.h).
  RequestWindow requests ABSL_GUARDED_BY(mu);
};

class LabRegistry {
 public:
  // `hub` and `journal` may be null and must outlive the registry.
  explicit LabRegistry(EventHub* hub, store::Journal* journal = nullptr)
      : hub_(hub), journal_(journal) {}

  // Rebuilds every live lab of the journal by replaying its ops (lab_registry_recover.cc), marks
  // the deleted ones as deleted, and continues ids after the largest ever used. Call once,
  // before serving, on an empty registry. Errors only when the journal cannot be read.
  absl::StatusOr<store::RecoveryReport> Recover();

  absl::StatusOr<std::shared_ptr<LabEntry>> Create(const std::string& name,
                                                   const sim::LabConfig& config,
                                                   const std::string& owner = "");
  // NOT_FOUND for an id never created, FAILED_PRECONDITION for a deleted lab.
  absl::Status Delete(uint64_t id);
  absl::StatusOr<std::shared_ptr<LabEntry>> Get(uint64_t id) const;
  std::vector<std::shared_ptr<LabEntry>> List() const;

  // Checked before each op of a batch, with the lab's lock held (index = the op's index in the
  // batch). A non-OK status stops the batch there exactly as a rejected op does: the ops before
  // it stay applied and journaled, and the response says so (`ops`, `rejected.index`, the
  // status's code and message). Quotas charged per op and call cancellation use it (issue 21).
  // Called with e.mu held (it may call e.mu.AssertHeld() to say so to the analysis).
  using OpGuard = std::function<absl::Status(const LabEntry& e, int index)>;

  // Applies ops in order under the lab's lock; the response names the first rejected op, or the
  // op before which `guard` or Drain stopped the batch, and says how many ops it `applied`.
  // With a `request_id` (ApplyRequest.request_id; INVALID_ARGUMENT unless ValidateRequestId
  // accepts it) that the lab's window holds, nothing is applied, `guard` is not asked, and the
  // answer is the first apply's outcome with `replayed` set; otherwise a batch that applied ops
  // is journaled with its id and remembered under it.
  absl::StatusOr<v1::ApplyResponse> Apply(uint64_t lab,
                                          const google::protobuf::RepeatedPtrField<v1::Op>& ops,
                                          const OpGuard& guard = nullptr,
                                          absl::string_view request_id = "");
  // The outcome remembered for `request_id` in `lab`'s window, if any: lets a caller answer a
  // retry before charging it for a batch (quota.h). Apply checks again under the lab's lock.
  std::optional<v1::ApplyResponse> Replay(uint64_t lab, absl::string_view request_id) const;

  // Shutdown (daemon.cc, on SIGTERM): every batch running stops before its next op, with
  // UNAVAILABLE "ppsimd is shutting down" as its rejection, and answers at once with how many of
  // its ops were applied; new batches are refused the same way. Journaled state stays exact.
  void Drain() { draining_.store(true, std::memory_order_relaxed); }
  // One op, for RPCs that are an op in disguise (FaultService): the op's own error without the
  // batch's "ops[i] name:" prefix, so the caller can name its own request field. Recorded in
  // the trace and counted exactly as a batch of one.
  absl::StatusOr<v1::OpResult> ApplyOne(uint64_t lab, const v1::Op& op);
  // LabInfo of an entry (takes its lock).
  static v1::LabInfo Info(const LabEntry& e);

 private:
  // Converts and applies one op with e.mu held, counting it as applied or rejected. On error,
  // `name` is the op's name if it converted ("" otherwise).
  static absl::StatusOr<sim::OpResult> ApplyLocked(LabEntry& e, const v1::Op& in,
                                                   absl::string_view* name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);

  // Where a batch starts: trace length, violations raised, violation records kept.
  struct BatchStart {
    uint64_t op = 0, violation = 0;
    size_t record = 0;
  };
  static BatchStart Start(const LabEntry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
    return {e.lab->trace().size(), e.lab->violation_total(), e.lab->violations().size()};
  }
  // Commits the batch of `e` that began at `start` (its `n` applied ops and `events`); sets
  // e.journal_error on failure.
  absl::Status CommitBatch(LabEntry& e, const v1::Op* const* ops, size_t n,
                           const BatchStart& start, const std::vector<sim::Event>& events,
                           absl::string_view request_id = "",
                           const v1::Rejection* rejected = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu);
  void Publish(const LabEntry& e, const std::vector<sim::Event>& events);

  EventHub* hub_;
  store::Journal* journal_;
  std::atomic<bool> draining_{false};
  mutable ppsim::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<LabEntry>> labs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> deleted_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_
