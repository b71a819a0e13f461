#include "server/service/event_hub.h"
#include "server/store/mutex.h"

namespace ppsim::service {

bool EventHub::Subscribe(EventSink* s) {
  ppsim::MutexLock lock(&mu_);
  if (closed_) return false;
  sinks_.insert(s);
  return true;
}

void EventHub::Unsubscribe(EventSink* s) {
  ppsim::MutexLock lock(&mu_);
  sinks_.erase(s);
}

void EventHub::Publish(const std::vector<v1::Event>& events) {
  if (events.empty()) return;
  ppsim::MutexLock lock(&mu_);
  for (EventSink* s : sinks_) {
    for (const v1::Event& e : events) s->Publish(e);
  }
}

void EventHub::CloseAll(const grpc::Status& st) {
  ppsim::MutexLock lock(&mu_);
  closed_ = true;
  for (EventSink* s : sinks_) s->Close(st);
}

void EventHub::LabDeleted(uint64_t lab) {
  ppsim::MutexLock lock(&mu_);
  for (EventSink* s : sinks_) s->LabDeleted(lab);
}

size_t EventHub::subscribers() const {
  ppsim::MutexLock lock(&mu_);
  return sinks_.size();
}

}  // namespace ppsim::service
