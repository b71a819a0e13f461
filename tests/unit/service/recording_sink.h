// An EventSink that keeps what it is given, for tests of the registry and the hub.
#ifndef PPSIM_TESTS_UNIT_SERVICE_RECORDING_SINK_H_
#define PPSIM_TESTS_UNIT_SERVICE_RECORDING_SINK_H_

#include <mutex>
#include <vector>

#include "server/service/event_hub.h"

namespace ppsim::service::testing {

class RecordingSink final : public EventSink {
 public:
  void Publish(const v1::Event& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  void Close(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_with_ = s;
    closed_ = true;
  }
  std::vector<v1::Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<v1::Event> events_;
  grpc::Status closed_with_;
  bool closed_ = false;
};

}  // namespace ppsim::service::testing

#endif  // PPSIM_TESTS_UNIT_SERVICE_RECORDING_SINK_H_
