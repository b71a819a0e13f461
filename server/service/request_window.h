// Apply's request ids (ApplyRequest.request_id, issue 21 item 8): what a lab remembers of the
// batches it applied under an id, so that a client which lost the answer (a timeout, a
// restarted daemon, a broken connection) can send the batch again and have it applied once.
//
// A window holds the outcome of the last kRequestWindow batches of one lab that had an id and
// applied at least one op: exactly the batches the journal records with their id, so a window
// rebuilt from the journal at start (LabRegistry::Recover) equals the one the daemon had. A
// batch that applied nothing is not remembered and runs again when retried. Memory: at most
// kRequestWindow ids of at most kMaxRequestIdBytes plus a small response each, per lab (well
// under 1 MiB). The outcome kept is the response without its per-op results, which could be
// millions; a replay says `replayed` and carries no results.
//
// Not thread-safe: a lab's window is guarded by its entry's lock (LabEntry::requests).
#ifndef PPSIM_SERVER_SERVICE_REQUEST_WINDOW_H_
#define PPSIM_SERVER_SERVICE_REQUEST_WINDOW_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ppsim/v1/service.pb.h"

namespace ppsim::service {

inline constexpr size_t kRequestWindow = 1024;
inline constexpr size_t kMaxRequestIdBytes = 128;

// OK for "" (no id) and for printable ASCII of at most kMaxRequestIdBytes; INVALID_ARGUMENT
// naming `request_id` and the value (C-escaped, and cut after 40 bytes when too long) else.
absl::Status ValidateRequestId(absl::string_view id);

class RequestWindow {
 public:
  explicit RequestWindow(size_t capacity = kRequestWindow) : capacity_(capacity) {}

  // The outcome remembered for `id` (results empty, `replayed` set), or null.
  const v1::ApplyResponse* Find(absl::string_view id) const;

  // Remembers `outcome` (its results dropped) under `id`, forgetting the oldest id when full.
  // An id already present keeps its first outcome.
  void Remember(absl::string_view id, const v1::ApplyResponse& outcome);

  size_t size() const { return order_.size(); }

 private:
  size_t capacity_;
  absl::flat_hash_map<std::string, v1::ApplyResponse> outcomes_;
  std::deque<std::string> order_;  // oldest first
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_REQUEST_WINDOW_H_
