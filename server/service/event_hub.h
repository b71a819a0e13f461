// Fan-out of lab events to Watch streams. Publishing never blocks a lab: each sink keeps its
// own bounded queue and ends itself when it falls behind (event_watcher.h).
// Lock order: hub, then sink. A sink unsubscribes (taking the hub lock) before it is deleted,
// so Publish never reaches a dead sink. After CloseAll (server shutdown) the hub refuses new
// subscribers, so a Watch that races with shutdown ends at once instead of at the deadline.
#ifndef PPSIM_SERVER_SERVICE_EVENT_HUB_H_
#define PPSIM_SERVER_SERVICE_EVENT_HUB_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "server/store/mutex.h"
#include "grpcpp/support/status.h"
#include "ppsim/v1/types.pb.h"

namespace ppsim::service {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called with the hub lock held; must not block.
  virtual void Publish(const v1::Event& e) = 0;
  // The server is shutting down: end the stream with `s`.
  virtual void Close(const grpc::Status& s) = 0;
  // Lab `lab` was deleted: a sink that only watches it ends (nothing more will come).
  virtual void LabDeleted(uint64_t lab) { (void)lab; }
};

class EventHub {
 public:
  // False (and not subscribed) once CloseAll has run.
  [[nodiscard]] bool Subscribe(EventSink* s);
  void Unsubscribe(EventSink* s);
  void Publish(const std::vector<v1::Event>& events);
  void CloseAll(const grpc::Status& s);
  void LabDeleted(uint64_t lab);
  size_t subscribers() const;

 private:
  mutable ppsim::Mutex mu_;
  absl::flat_hash_set<EventSink*> sinks_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_EVENT_HUB_H_
