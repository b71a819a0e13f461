// One Watch stream (QueryService.Watch): a ServerWriteReactor that is also an EventSink of the
// hub (gRPC's callback API: grpcpp/support/server_callback.h). Labs publish from their own threads;
// the watcher queues matching events and keeps one write in flight. The queue is bounded: while
// a consumer is `max_queued` events behind, new events are dropped and counted, and once the
// queue has room again (or has drained) the consumer gets one EVENT_LAGGED event saying how
// many it missed, then the events that follow. One slow or stuck client cannot grow the
// daemon's memory or slow a lab, and a slow one catches up instead of being cut off. A peer
// that stops answering altogether is found by keepalive (services.cc) and its stream cancelled.
// A watcher holds its identity's watch-stream slot (quota.h) until it is deleted; one that
// watches every lab for a non-admin identity passes on only the events of that identity's
// labs (auth.h).
//
// Lifetime: gRPC owns the reactor; OnDone unsubscribes (taking the hub lock, so no Publish is
// in flight) and deletes it. Lock order: hub, then watcher.
#ifndef PPSIM_SERVER_SERVICE_EVENT_WATCHER_H_
#define PPSIM_SERVER_SERVICE_EVENT_WATCHER_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "server/store/mutex.h"
#include "ppsim/v1/types.pb.h"
#include "server/service/event_hub.h"
#include "server/service/quota.h"
#include "server/service/rpc_scope.h"

namespace ppsim::service {

struct WatchFilter {
  uint64_t lab = 0;        // 0 = every lab
  uint32_t kinds = 0;      // bit per v1::EventKind; 0 = every kind
  // Set: only labs `owners` says `owner` created. Owns takes only the quota's leaf lock, so it
  // is safe under the hub lock.
  const Quota* owners = nullptr;
  std::string owner;
  bool Match(const v1::Event& e) const {
    return (lab == 0 || e.lab() == lab) && (kinds == 0 || (kinds >> e.kind() & 1u) != 0) &&
           (owners == nullptr || owners->Owns(owner, e.lab()));
  }
};

// Events leave as bytes: Watch is registered raw (raw_method.h).
class EventWatcher final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public EventSink {
 public:
  // Subscribes and sends the response headers at once, so a client that has seen them knows
  // every later event reaches it. With a non-OK `error` the stream just ends with it.
  EventWatcher(EventHub* hub, WatchFilter filter, size_t max_queued, RpcScope rpc,
               const grpc::Status& error = grpc::Status::OK, WatchSlot slot = WatchSlot());

  // EventSink; called under the hub lock.
  void Publish(const v1::Event& e) override;
  void Close(const grpc::Status& s) override;
  void LabDeleted(uint64_t lab) override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Finishes once; later calls are ignored. Call with mu_ held.
  void FinishLocked(const grpc::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Serializes queue_.front() and writes it. Call with mu_ held.
  void WriteFrontLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the EVENT_LAGGED event for the dropped_ events, if any, and clears the count.
  void QueueLagLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventHub* hub_;
  const WatchFilter filter_;
  const size_t max_queued_;
  const RpcScope rpc_;
  const WatchSlot slot_;

  ppsim::Mutex mu_;
  // front() is the write in flight while writing_.
  std::deque<v1::Event> queue_ ABSL_GUARDED_BY(mu_);
  // queue_.front()'s bytes, read by the write in flight.
  grpc::ByteBuffer out_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;  // since the last EVENT_LAGGED
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_EVENT_WATCHER_H_
