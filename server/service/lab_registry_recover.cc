// LabRegistry::Recover: the journal's labs rebuilt by replay (server/store/journal_recovery.h).
#include "server/service/lab_registry.h"

#include "absl/strings/str_cat.h"
#include "server/convert/info_convert.h"
#include "server/store/journal_recovery.h"
#include "spdlog/spdlog.h"
#include "server/store/mutex.h"

namespace ppsim::service {

absl::StatusOr<store::RecoveryReport> LabRegistry::Recover() {
  store::RecoveryReport report;
  if (journal_ == nullptr) return report;
  absl::StatusOr<std::vector<store::JournalLab>> stored = journal_->Labs();
  if (!stored.ok()) return stored.status();
  uint64_t max_id = 0;
  for (const store::JournalLab& l : *stored) {
    max_id = std::max(max_id, l.id);
    if (l.deleted) {
      ppsim::MutexLock lock(&mu_);
      deleted_.insert(l.id);
      ++report.deleted;
      continue;
    }
    auto e = std::make_shared<LabEntry>();
    e->id = l.id;
    e->name = l.name;
    e->owner = l.owner;
    store::RecoveredLab out{.id = l.id};
    absl::StatusOr<sim::LabConfig> config = convert::LabConfigFromProto(l.config);
    absl::StatusOr<std::unique_ptr<sim::Lab>> lab =
        config.ok() ? sim::Lab::Create(*config) : config.status();
    if (!lab.ok()) {
      // Nothing to keep: without its config the lab cannot exist. Its id stays used.
      out.problem = absl::StrCat("its stored config is refused: ", lab.status().message());
      spdlog::error("journal: lab {} ({}) not recovered: {}", l.id, l.name, out.problem);
      ppsim::MutexLock lock(&mu_);
      deleted_.insert(l.id);
      ++report.mismatched;
      report.labs.push_back(std::move(out));
      continue;
    }
    {
    ppsim::MutexLock entry_lock(&e->mu);  // not published yet: never waits, held for the analysis
    e->lab = *std::move(lab);
    const auto apply = [&](const v1::Op& op) {
      e->mu.AssertHeld();  // called by ReplayBatch below, inside entry_lock's scope
      absl::string_view name;
      return ApplyLocked(*e, op, &name);
    };
    bool stopped = false;
    absl::Status read = journal_->ForEachBatch(l.id, [&](const store::JournalBatch& b) {
      e->mu.AssertHeld();  // ForEachBatch calls back inside entry_lock's scope
      if (stopped) return absl::OkStatus();  // keep what rebuilt, skip the rest
      store::ReplayedBatch r = store::ReplayBatch(*e->lab, b, apply);
      stopped = r.stop;
      if (!stopped) ++out.batches;
      if (!stopped && !b.request_id.empty()) {
        // The window as the daemon had it: the response of the batch's first apply, but its
        // results (request_window.h).
        v1::ApplyResponse first;
        if (b.rejected) *first.mutable_rejected() = *b.rejected;
        first.set_digest(b.digest);
        first.set_now_ns(b.now_ns);
        first.set_violations(b.violations);
        first.set_ops(b.first_op + b.op_count);
        first.set_applied(b.op_count);
        e->requests.Remember(b.request_id, first);
      }
      if (out.problem.empty()) out.problem = std::move(r.problem);  // the first one says most
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    (void)e->lab->TakeEvents();  // history, not news: nobody watched them the first time round
    out.ops = e->lab->trace().size();
    out.digest = e->lab->digest();
    }
    report.ops += out.ops;
    if (!out.problem.empty()) {
      e->recovery_problem = out.problem;
      ++report.mismatched;
      spdlog::error(
          "journal: lab {} ({}) DIVERGED on replay and is kept as rebuilt "
          "({} ops, digest {:016x}): {}",
          l.id, l.name, out.ops, out.digest, out.problem);
    }
    report.labs.push_back(std::move(out));
    ppsim::MutexLock lock(&mu_);
    labs_.emplace(e->id, std::move(e));
  }
  ppsim::MutexLock lock(&mu_);
  next_id_ = std::max(next_id_, max_id + 1);
  report.next_id = next_id_;
  return report;
}

}  // namespace ppsim::service
