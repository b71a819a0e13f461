#include "server/service/event_hub.h"

namespace ppsim::service {

bool EventHub::Subscribe(EventSink* s) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  sinks_.insert(s);
  return true;
}

void EventHub::Unsubscribe(EventSink* s) {
  absl::MutexLock lock(&mu_);
  sinks_.erase(s);
}

void EventHub::Publish(const std::vector<v1::Event>& events) {
  if (events.empty()) return;
  absl::MutexLock lock(&mu_);
  for (EventSink* s : sinks_) {
    for (const v1::Event& e : events) s->Publish(e);
  }
}

void EventHub::CloseAll(const grpc::Status& st) {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  for (EventSink* s : sinks_) s->Close(st);
}

void EventHub::LabDeleted(uint64_t lab) {
  absl::MutexLock lock(&mu_);
  for (EventSink* s : sinks_) s->LabDeleted(lab);
}

size_t EventHub::subscribers() const {
  absl::MutexLock lock(&mu_);
  return sinks_.size();
}

}  // namespace ppsim::service
