#include "server/service/event_watcher.h"

#include "absl/strings/str_cat.h"
#include "server/service/raw_method.h"
#include "server/store/mutex.h"

namespace ppsim::service {

EventWatcher::EventWatcher(EventHub* hub, WatchFilter filter, size_t max_queued, RpcScope rpc,
                           const grpc::Status& error, WatchSlot slot)
    : hub_(hub),
      filter_(std::move(filter)),
      max_queued_(max_queued),
      rpc_(rpc),
      slot_(std::move(slot)) {
  if (!error.ok()) {
    ppsim::MutexLock lock(&mu_);
    FinishLocked(error);
    return;
  }
  StartSendInitialMetadata();
  // Not under mu_: the hub lock comes first (Publish holds it when it takes ours). From here
  // on Publish may run; gRPC queues its writes until this reactor is bound to the call.
  if (!hub_->Subscribe(this)) {
    ppsim::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "watch: the server is shutting down"));
  }
}

void EventWatcher::Publish(const v1::Event& e) {
  ppsim::MutexLock lock(&mu_);
  if (finished_ || !filter_.Match(e)) return;
  if (queue_.size() >= max_queued_) {
    ++dropped_;  // told to the consumer when it has caught up (QueueLagLocked)
    return;
  }
  QueueLagLocked();  // the queue has room again: the gap comes first, then what follows it
  queue_.push_back(e);
  if (!writing_) {
    writing_ = true;
    WriteFrontLocked();
  }
}

void EventWatcher::QueueLagLocked() {
  if (dropped_ == 0) return;
  v1::Event lag;
  lag.set_lab(filter_.lab);
  lag.set_kind(v1::EVENT_LAGGED);
  lag.set_level("warn");
  lag.set_dropped(dropped_);
  lag.set_text(absl::StrCat("watch: lagged, ", dropped_, " events dropped (the consumer fell ",
                            max_queued_, " events behind); the stream goes on"));
  dropped_ = 0;
  queue_.push_back(std::move(lag));
}

void EventWatcher::Close(const grpc::Status& s) {
  ppsim::MutexLock lock(&mu_);
  FinishLocked(s);
}

void EventWatcher::LabDeleted(uint64_t lab) {
  if (filter_.lab != lab) return;
  ppsim::MutexLock lock(&mu_);
  FinishLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("lab: lab ", lab, " was deleted")));
}

void EventWatcher::OnWriteDone(bool ok) {
  ppsim::MutexLock lock(&mu_);
  queue_.pop_front();
  if (ok && !finished_ && queue_.empty()) QueueLagLocked();  // caught up: say what it missed
  if (!ok || finished_ || queue_.empty()) {
    writing_ = false;
    if (!ok) FinishLocked(grpc::Status::CANCELLED);  // the client went away mid-write
    return;
  }
  WriteFrontLocked();
}

void EventWatcher::WriteFrontLocked() {
  SerializeResponse(queue_.front(), &out_);
  StartWrite(&out_);
}

void EventWatcher::OnCancel() {
  ppsim::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void EventWatcher::OnDone() {
  hub_->Unsubscribe(this);  // a no-op if Subscribe refused us
  delete this;
}

void EventWatcher::FinishLocked(const grpc::Status& s) {
  if (finished_) return;
  finished_ = true;
  rpc_.Record(s);
  Finish(s);
}

}  // namespace ppsim::service
