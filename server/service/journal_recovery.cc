// LabRegistry::Recover: the journal's labs rebuilt by replay (journal_recovery.h).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/service/info_convert.h"
#include "server/service/lab_registry.h"
#include "spdlog/spdlog.h"

namespace ppsim::service {

namespace {

struct Replayed {
  std::string problem;  // "" when the batch replayed to its journaled digest
  bool stop = false;    // the rest of the log cannot apply (a gap, a bad blob, a rejected op)
};

// Replays `batch` on `e`, which must be at batch.first_op.
Replayed ReplayBatch(LabEntry& e, const JournalBatch& batch,
                     const std::function<absl::StatusOr<sim::OpResult>(const v1::Op&)>& apply) {
  if (e.lab->trace().size() != batch.first_op) {
    return {absl::StrCat("the journal resumes at op ", batch.first_op, " but the rebuilt lab has ",
                         e.lab->trace().size(), " ops (a batch is missing)"),
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
  if (e.lab->digest() != batch.digest) {
    // The log still applies, so keep replaying it: it is the lab's state; the digest check
    // only says the model now computes it differently.
    return {absl::StrFormat(
                "batch at op %d (%d ops): digest after op %d is %016x on replay, %016x in the "
                "journal",
                batch.first_op, batch.op_count, batch.first_op + batch.op_count, e.lab->digest(),
                batch.digest),
            false};
  }
  return {};
}

}  // namespace

absl::StatusOr<RecoveryReport> LabRegistry::Recover() {
  RecoveryReport report;
  if (journal_ == nullptr) return report;
  absl::StatusOr<std::vector<JournalLab>> stored = journal_->Labs();
  if (!stored.ok()) return stored.status();
  uint64_t max_id = 0;
  for (const JournalLab& l : *stored) {
    max_id = std::max(max_id, l.id);
    if (l.deleted) {
      std::lock_guard<std::mutex> lock(mu_);
      deleted_.insert(l.id);
      ++report.deleted;
      continue;
    }
    auto e = std::make_shared<LabEntry>();
    e->id = l.id;
    e->name = l.name;
    e->owner = l.owner;
    RecoveredLab out{.id = l.id};
    absl::StatusOr<sim::LabConfig> config = LabConfigFromProto(l.config);
    absl::StatusOr<std::unique_ptr<sim::Lab>> lab =
        config.ok() ? sim::Lab::Create(*config) : config.status();
    if (!lab.ok()) {
      // Nothing to keep: without its config the lab cannot exist. Its id stays used.
      out.problem = absl::StrCat("its stored config is refused: ", lab.status().message());
      spdlog::error("journal: lab {} ({}) not recovered: {}", l.id, l.name, out.problem);
      std::lock_guard<std::mutex> lock(mu_);
      deleted_.insert(l.id);
      ++report.mismatched;
      report.labs.push_back(std::move(out));
      continue;
    }
    e->lab = *std::move(lab);
    const auto apply = [&](const v1::Op& op) {
      absl::string_view name;
      return ApplyLocked(*e, op, &name);
    };
    bool stopped = false;
    absl::Status read = journal_->ForEachBatch(l.id, [&](const JournalBatch& b) {
      if (stopped) return absl::OkStatus();  // keep what rebuilt, skip the rest
      Replayed r = ReplayBatch(*e, b, apply);
      stopped = r.stop;
      if (!stopped) ++out.batches;
      if (out.problem.empty()) out.problem = std::move(r.problem);  // the first one says most
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    (void)e->lab->TakeEvents();  // history, not news: nobody watched them the first time round
    out.ops = e->lab->trace().size();
    out.digest = e->lab->digest();
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
    std::lock_guard<std::mutex> lock(mu_);
    labs_.emplace(e->id, std::move(e));
  }
  std::lock_guard<std::mutex> lock(mu_);
  next_id_ = std::max(next_id_, max_id + 1);
  report.next_id = next_id_;
  return report;
}

}  // namespace ppsim::service
