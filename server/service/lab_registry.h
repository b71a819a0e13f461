// The daemon's labs (design.md §2, §3.1): many labs served in parallel, each lab's ops
// serialised by its own mutex. Applying a batch converts and applies op by op, stops at the
// first rejected op, then hands the lab's new events to the hub. Metrics read the same
// entries at scrape time under the same mutex; nothing on the op path touches Prometheus.
#ifndef PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_
#define PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "ppsim/v1/service.pb.h"
#include "server/service/event_hub.h"
#include "server/sim/lab.h"

namespace ppsim::service {

struct LabEntry {
  uint64_t id = 0;
  std::string name;
  std::string owner;
  mutable std::mutex mu;  // serialises everything below
  std::unique_ptr<sim::Lab> lab;
  // Applied ops, for ppsim_ops_total{op}; std::less<> so counting needs no string per op.
  std::map<std::string, uint64_t, std::less<>> ops_by_name;
};

class LabRegistry {
 public:
  explicit LabRegistry(EventHub* hub) : hub_(hub) {}

  absl::StatusOr<std::shared_ptr<LabEntry>> Create(const std::string& name,
                                                   const sim::LabConfig& config,
                                                   const std::string& owner = "");
  // NOT_FOUND for an id never created, FAILED_PRECONDITION for a deleted lab.
  absl::Status Delete(uint64_t id);
  absl::StatusOr<std::shared_ptr<LabEntry>> Get(uint64_t id) const;
  std::vector<std::shared_ptr<LabEntry>> List() const;

  // Applies ops in order under the lab's lock; the response names the first rejected op.
  absl::StatusOr<v1::ApplyResponse> Apply(uint64_t lab,
                                          const google::protobuf::RepeatedPtrField<v1::Op>& ops);
  // One op, for RPCs that are an op in disguise (FaultService): the op's own error without the
  // batch's "ops[i] name:" prefix, so the caller can name its own request field. Recorded in
  // the trace and counted exactly as a batch of one.
  absl::StatusOr<v1::OpResult> ApplyOne(uint64_t lab, const v1::Op& op);
  // LabInfo of an entry (takes its lock).
  static v1::LabInfo Info(const LabEntry& e);

  // Drains the lab's events to the hub. Call with e.mu held.
  void PublishEvents(LabEntry& e);

 private:
  // Converts and applies one op with e.mu held, counting it as applied or rejected. On error,
  // `name` is the op's name if it converted ("" otherwise).
  static absl::StatusOr<sim::OpResult> ApplyLocked(LabEntry& e, const v1::Op& in,
                                                   absl::string_view* name);

  EventHub* hub_;
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<LabEntry>> labs_;
  absl::flat_hash_set<uint64_t> deleted_;
  uint64_t next_id_ = 1;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_LAB_REGISTRY_H_
