// File: client/chaos/lab_target.h
// Where a scenario runs: an in-process sim::Lab (embedded, the default) or a lab on ppsimd
// (remote). Both take the same v1 ops; the embedded one converts them with the daemon's own
// convert::OpFromProto, so the two apply identical sim ops and reach identical digests.
#ifndef PPSIM_CLIENT_CHAOS_LAB_TARGET_H_
#define PPSIM_CLIENT_CHAOS_LAB_TARGET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/lib/client.h"
#include "ppsim/v1/service.pb.h"

namespace ppsim::chaos {

// What the checks need to know about a lab after (or during) a run.
struct LabFacts {
  uint64_t digest = 0;
  uint64_t ops = 0;
  int64_t now_ns = 0;
  v1::ListViolationsResponse violations;  // every stored record and the counts by id
  std::vector<v1::PoolInfo> pools;        // every pool, freed ones included
  // Injected faults by site (FaultInjector::injected). Only an embedded lab can tell:
  // faults_known is false on a remote target (the API does not expose the counters).
  std::map<std::string, uint64_t> faults_injected;
  bool faults_known = false;
};

// The outcome of one op: `rejected` is the lab refusing the op (the scenario is wrong); a
// failed StatusOr around it is the transport failing (the target is gone).
struct Applied {
  absl::Status rejected;
  v1::OpResult result;
};

// A batch applied in order up to the first rejected op (docs/design.md §4 Apply): `results` has
// one entry per applied op; `rejected_index` is the refused op's index (-1: none refused).
struct BatchApplied {
  std::vector<v1::OpResult> results;
  int rejected_index = -1;
  absl::Status rejected;
  int64_t now_ns = 0;  // the lab's virtual time after the batch
};

class LabSession {
 public:
  virtual ~LabSession() = default;
  virtual absl::StatusOr<Applied> Apply(const v1::Op& op) = 0;
  virtual absl::StatusOr<LabFacts> Facts() = 0;
  // One Apply RPC for the whole batch remotely (the chaos generator's batches).
  virtual absl::StatusOr<BatchApplied> ApplyBatch(absl::Span<const v1::Op> ops) = 0;
  // Every pool, freed ones included, and the virtual time: cheap enough to sample a run.
  virtual absl::StatusOr<std::vector<v1::PoolInfo>> Pools() = 0;
};

// A session several threads share (`ppctl chaos --workers N --shared-lab`): every call is
// serialised by a mutex. `inner` is not owned and must outlive it.
std::unique_ptr<LabSession> SharedSession(LabSession* inner);

class LabTarget {
 public:
  virtual ~LabTarget() = default;
  // A fresh lab; INVALID_ARGUMENT for a config the model refuses.
  virtual absl::StatusOr<std::unique_ptr<LabSession>> NewLab(const std::string& name,
                                                             const v1::LabConfig& config) = 0;
  // "" when embedded, else the host:port, for reports and replay commands.
  virtual std::string Address() const = 0;
};

std::unique_ptr<LabTarget> EmbeddedTarget();
// Labs on ppsimd through `client` (not owned), deleted when their session ends.
std::unique_ptr<LabTarget> RemoteTarget(client::Client* client);

}  // namespace ppsim::chaos

#endif  // PPSIM_CLIENT_CHAOS_LAB_TARGET_H_
