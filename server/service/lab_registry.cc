#include "server/service/lab_registry.h"

#include "absl/strings/str_cat.h"
#include "server/service/info_convert.h"
#include "server/service/op_convert.h"

namespace ppsim::service {

absl::StatusOr<std::shared_ptr<LabEntry>> LabRegistry::Create(const std::string& name,
                                                              const sim::LabConfig& config,
                                                              const std::string& owner) {
  absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(config);
  if (!lab.ok()) return lab.status();
  auto e = std::make_shared<LabEntry>();
  e->lab = *std::move(lab);
  e->owner = owner;
  std::lock_guard<std::mutex> lock(mu_);
  e->id = next_id_++;
  e->name = name.empty() ? absl::StrCat("lab-", e->id) : name;
  labs_.emplace(e->id, e);
  return e;
}

absl::Status LabRegistry::Delete(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (labs_.erase(id) == 0) {
    if (deleted_.contains(id)) {
      return absl::FailedPreconditionError(absl::StrCat("lab: lab ", id, " was already deleted"));
    }
    return absl::NotFoundError(absl::StrCat("lab: lab ", id, " does not exist"));
  }
  deleted_.insert(id);
  if (hub_ != nullptr) hub_->LabDeleted(id);  // lock order: registry, then hub, then sink
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<LabEntry>> LabRegistry::Get(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = labs_.find(id);
  if (it != labs_.end()) return it->second;
  if (deleted_.contains(id)) {
    return absl::FailedPreconditionError(absl::StrCat("lab: lab ", id, " was deleted"));
  }
  return absl::NotFoundError(absl::StrCat("lab: lab ", id, " does not exist"));
}

std::vector<std::shared_ptr<LabEntry>> LabRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<LabEntry>> out;
  for (const auto& [id, e] : labs_) out.push_back(e);
  return out;
}

void LabRegistry::PublishEvents(LabEntry& e) {
  std::vector<sim::Event> events = e.lab->TakeEvents();
  if (events.empty() || hub_ == nullptr) return;
  std::vector<v1::Event> out(events.size());
  for (size_t i = 0; i < events.size(); ++i) EventToProto(e.id, events[i], &out[i]);
  hub_->Publish(out);
}

absl::StatusOr<sim::OpResult> LabRegistry::ApplyLocked(LabEntry& e, const v1::Op& in,
                                                      absl::string_view* name) {
  *name = "";
  absl::StatusOr<sim::Op> op = OpFromProto(in);
  if (!op.ok()) return op.status();
  *name = sim::OpName(op->body);
  absl::StatusOr<sim::OpResult> r = e.lab->Apply(*op);
  if (!r.ok()) return r.status();
  auto it = e.ops_by_name.find(*name);
  if (it == e.ops_by_name.end()) it = e.ops_by_name.emplace(std::string(*name), 0).first;
  ++it->second;
  return r;
}

absl::StatusOr<v1::ApplyResponse> LabRegistry::Apply(
    uint64_t lab, const google::protobuf::RepeatedPtrField<v1::Op>& ops) {
  absl::StatusOr<std::shared_ptr<LabEntry>> entry = Get(lab);
  if (!entry.ok()) return entry.status();
  LabEntry& e = **entry;
  v1::ApplyResponse resp;
  std::lock_guard<std::mutex> lock(e.mu);
  for (int i = 0; i < ops.size(); ++i) {
    absl::string_view name;
    absl::StatusOr<sim::OpResult> r = ApplyLocked(e, ops[i], &name);
    if (!r.ok()) {
      v1::Rejection* rej = resp.mutable_rejected();
      rej->set_index(static_cast<uint32_t>(i));
      rej->set_code(static_cast<int32_t>(r.status().code()));
      rej->set_message(absl::StrCat("ops[", i, "]", name.empty() ? "" : " ", name, ": ",
                                    r.status().message()));
      break;
    }
    OpResultToProto(*r, resp.add_results());
  }
  resp.set_digest(e.lab->digest());
  resp.set_now_ns(e.lab->now());
  resp.set_violations(e.lab->violation_total());
  resp.set_ops(e.lab->trace().size());
  PublishEvents(e);
  return resp;
}

absl::StatusOr<v1::OpResult> LabRegistry::ApplyOne(uint64_t lab, const v1::Op& op) {
  absl::StatusOr<std::shared_ptr<LabEntry>> entry = Get(lab);
  if (!entry.ok()) return entry.status();
  LabEntry& e = **entry;
  std::lock_guard<std::mutex> lock(e.mu);
  absl::string_view name;
  absl::StatusOr<sim::OpResult> r = ApplyLocked(e, op, &name);
  PublishEvents(e);
  if (!r.ok()) return r.status();
  v1::OpResult out;
  OpResultToProto(*r, &out);
  return out;
}

v1::LabInfo LabRegistry::Info(const LabEntry& e) {
  std::lock_guard<std::mutex> lock(e.mu);
  v1::LabInfo info;
  info.set_id(e.id);
  info.set_name(e.name);
  *info.mutable_config() = LabConfigToProto(e.lab->config());
  info.set_ops(e.lab->trace().size());
  info.set_digest(e.lab->digest());
  info.set_now_ns(e.lab->now());
  info.set_violations(e.lab->violation_total());
  uint32_t pools = 0;
  for (const sim::PoolInfo& p : e.lab->AllPools()) pools += p.state != sim::PoolState::kFreed;
  info.set_pools(pools);
  info.set_owner(e.owner);
  return info;
}

}  // namespace ppsim::service
