#include "server/service/lab_registry.h"

#include "absl/strings/str_cat.h"
#include "server/convert/info_convert.h"
#include "server/convert/op_convert.h"
#include "spdlog/spdlog.h"
#include "server/store/mutex.h"

namespace ppsim::service {

namespace {

// A lab whose journal append failed is ahead of its journal (LabEntry::journal_error).
absl::Status CheckJournaled(const LabEntry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e.mu) {
  if (e.journal_error.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("lab: lab ", e.id, " lost its journal (", e.journal_error,
                   "); it accepts no more ops: delete it"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<LabEntry>> LabRegistry::Create(const std::string& name,
                                                              const sim::LabConfig& config,
                                                              const std::string& owner) {
  absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(config);
  if (!lab.ok()) return lab.status();
  auto e = std::make_shared<LabEntry>();
  e->owner = owner;
  const auto config_proto = convert::LabConfigToProto((*lab)->config());
  {
    ppsim::MutexLock entry_lock(&e->mu);  // not shared yet: never waits, held for the analysis
    e->lab = *std::move(lab);
  }
  ppsim::MutexLock lock(&mu_);
  e->id = next_id_++;  // consumed even if the journal fails: ids are never reused
  e->name = name.empty() ? absl::StrCat("lab-", e->id) : name;
  if (journal_ != nullptr) {
    // Under mu_: no Apply can reach the lab before its row exists.
    absl::Status s = journal_->RecordLabCreated(e->id, e->name, owner, config_proto);
    if (!s.ok()) return s;
  }
  labs_.emplace(e->id, e);
  return e;
}

absl::Status LabRegistry::Delete(uint64_t id) {
  ppsim::MutexLock lock(&mu_);
  if (!labs_.contains(id)) {
    if (deleted_.contains(id)) {
      return absl::FailedPreconditionError(absl::StrCat("lab: lab ", id, " was already deleted"));
    }
    return absl::NotFoundError(absl::StrCat("lab: lab ", id, " does not exist"));
  }
  // Journal first: a deletion the journal missed would bring the lab back after a restart.
  if (journal_ != nullptr) {
    if (absl::Status s = journal_->RecordLabDeleted(id); !s.ok()) return s;
  }
  labs_.erase(id);
  deleted_.insert(id);
  if (hub_ != nullptr) hub_->LabDeleted(id);  // lock order: registry, then hub, then sink
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<LabEntry>> LabRegistry::Get(uint64_t id) const {
  ppsim::MutexLock lock(&mu_);
  auto it = labs_.find(id);
  if (it != labs_.end()) return it->second;
  if (deleted_.contains(id)) {
    return absl::FailedPreconditionError(absl::StrCat("lab: lab ", id, " was deleted"));
  }
  return absl::NotFoundError(absl::StrCat("lab: lab ", id, " does not exist"));
}

std::vector<std::shared_ptr<LabEntry>> LabRegistry::List() const {
  ppsim::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<LabEntry>> out;
  for (const auto& [id, e] : labs_) out.push_back(e);
  return out;
}

void LabRegistry::Publish(const LabEntry& e, const std::vector<sim::Event>& events) {
  if (events.empty() || hub_ == nullptr) return;
  std::vector<v1::Event> out(events.size());
  for (size_t i = 0; i < events.size(); ++i) convert::EventToProto(e.id, events[i], &out[i]);
  hub_->Publish(out);
}

absl::StatusOr<sim::OpResult> LabRegistry::ApplyLocked(LabEntry& e, const v1::Op& in,
                                                      absl::string_view* name) {
  *name = "";
  absl::StatusOr<sim::Op> op = convert::OpFromProto(in);
  if (!op.ok()) return op.status();
  *name = sim::OpName(op->body);
  absl::StatusOr<sim::OpResult> r = e.lab->Apply(*op);
  if (!r.ok()) return r.status();
  auto it = e.ops_by_name.find(*name);
  if (it == e.ops_by_name.end()) it = e.ops_by_name.emplace(std::string(*name), 0).first;
  ++it->second;
  return r;
}

absl::Status LabRegistry::CommitBatch(LabEntry& e, const v1::Op* const* ops, size_t n,
                                      const BatchStart& start,
                                      const std::vector<sim::Event>& events,
                                      absl::string_view request_id,
                                      const v1::Rejection* rejected) {
  if (journal_ == nullptr || n == 0) return absl::OkStatus();
  store::JournalBatch b;
  b.lab = e.id;
  b.request_id = std::string(request_id);
  if (rejected != nullptr) b.rejected = *rejected;
  b.first_op = start.op;
  b.op_count = n;
  for (size_t i = 0; i < n; ++i) store::AppendOpToLog(*ops[i], &b.ops);
  b.digest = e.lab->digest();
  b.now_ns = e.lab->now();
  b.violations = e.lab->violation_total();
  b.first_violation = start.violation;
  b.new_records = absl::MakeConstSpan(e.lab->violations()).subspan(start.record);
  b.events = events;
  absl::Status s = journal_->AppendBatch(b);
  if (!s.ok()) {
    e.journal_error = std::string(s.message());
    spdlog::error("lab {}: ops {}..{} applied but not journaled, the lab now refuses ops: {}",
                  e.id, start.op, start.op + n, e.journal_error);
  }
  return s;
}

absl::StatusOr<v1::ApplyResponse> LabRegistry::Apply(
    uint64_t lab, const google::protobuf::RepeatedPtrField<v1::Op>& ops, const OpGuard& guard,
    absl::string_view request_id) {
  if (absl::Status s = ValidateRequestId(request_id); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<LabEntry>> entry = Get(lab);
  if (!entry.ok()) return entry.status();
  LabEntry& e = **entry;
  v1::ApplyResponse resp;
  ppsim::MutexLock lock(&e.mu);
  if (!request_id.empty()) {
    // Before the journal check: answering a retry applies nothing, so a lab that refuses ops
    // can still say what it did.
    if (const v1::ApplyResponse* first = e.requests.Find(request_id)) return *first;
  }
  if (absl::Status s = CheckJournaled(e); !s.ok()) return s;
  const BatchStart start = Start(e);
  const auto reject = [&](int i, absl::string_view name, const absl::Status& why) {
    v1::Rejection* rej = resp.mutable_rejected();
    rej->set_index(static_cast<uint32_t>(i));
    rej->set_code(static_cast<int32_t>(why.code()));
    rej->set_message(
        absl::StrCat("ops[", i, "]", name.empty() ? "" : " ", name, ": ", why.message()));
  };
  for (int i = 0; i < ops.size(); ++i) {
    if (draining_.load(std::memory_order_relaxed)) {
      reject(i, "", absl::UnavailableError(absl::StrCat(
                        "ppsimd is shutting down; ops[0..", i, ") of this batch were applied, "
                        "the rest were not")));
      break;
    }
    if (guard) {
      if (absl::Status g = guard(e, i); !g.ok()) {
        reject(i, "", g);
        break;
      }
    }
    absl::string_view name;
    absl::StatusOr<sim::OpResult> r = ApplyLocked(e, ops[i], &name);
    if (!r.ok()) {
      reject(i, name, r.status());
      break;
    }
    convert::OpResultToProto(*r, resp.add_results());
  }
  resp.set_digest(e.lab->digest());
  resp.set_now_ns(e.lab->now());
  resp.set_violations(e.lab->violation_total());
  resp.set_ops(e.lab->trace().size());
  resp.set_applied(resp.ops() - start.op);
  // Committed, then published: a watcher never sees what a crash could take back. Applied ops
  // are a prefix of the batch: ops.data() lists their pointers in order.
  std::vector<sim::Event> events = e.lab->TakeEvents();
  absl::Status journaled =
      CommitBatch(e, ops.data(), resp.applied(), start, events, request_id,
                  resp.has_rejected() ? &resp.rejected() : nullptr);
  Publish(e, events);
  if (!journaled.ok()) return journaled;
  // Only a batch that applied ops, as the journal records only those (request_window.h).
  if (!request_id.empty() && resp.applied() > 0) e.requests.Remember(request_id, resp);
  return resp;
}

std::optional<v1::ApplyResponse> LabRegistry::Replay(uint64_t lab,
                                                     absl::string_view request_id) const {
  if (request_id.empty()) return std::nullopt;
  absl::StatusOr<std::shared_ptr<LabEntry>> entry = Get(lab);
  if (!entry.ok()) return std::nullopt;
  ppsim::MutexLock lock(&(*entry)->mu);
  const v1::ApplyResponse* first = (*entry)->requests.Find(request_id);
  if (first == nullptr) return std::nullopt;
  return *first;
}

absl::StatusOr<v1::OpResult> LabRegistry::ApplyOne(uint64_t lab, const v1::Op& op) {
  absl::StatusOr<std::shared_ptr<LabEntry>> entry = Get(lab);
  if (!entry.ok()) return entry.status();
  LabEntry& e = **entry;
  ppsim::MutexLock lock(&e.mu);
  if (absl::Status s = CheckJournaled(e); !s.ok()) return s;
  const BatchStart start = Start(e);
  absl::string_view name;
  absl::StatusOr<sim::OpResult> r = ApplyLocked(e, op, &name);
  const v1::Op* const op_ptr = &op;
  std::vector<sim::Event> events = e.lab->TakeEvents();
  absl::Status journaled = CommitBatch(e, &op_ptr, r.ok() ? 1 : 0, start, events);
  Publish(e, events);
  if (!journaled.ok()) return journaled;
  if (!r.ok()) return r.status();
  v1::OpResult out;
  convert::OpResultToProto(*r, &out);
  return out;
}

v1::LabInfo LabRegistry::Info(const LabEntry& e) {
  ppsim::MutexLock lock(&e.mu);
  v1::LabInfo info;
  info.set_id(e.id);
  info.set_name(e.name);
  *info.mutable_config() = convert::LabConfigToProto(e.lab->config());
  info.set_ops(e.lab->trace().size());
  info.set_digest(e.lab->digest());
  info.set_now_ns(e.lab->now());
  info.set_violations(e.lab->violation_total());
  uint32_t pools = 0;
  for (const sim::PoolInfo& p : e.lab->AllPools()) pools += p.state != sim::PoolState::kFreed;
  info.set_pools(pools);
  info.set_owner(e.owner);
  info.set_recovery_problem(e.recovery_problem);
  return info;
}

}  // namespace ppsim::service
