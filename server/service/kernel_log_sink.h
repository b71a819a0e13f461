// The simulated kernels' log lines in the daemon's log. Every lab's kKernelLog events (the
// "stalled pool shutdown" warning, dma-debug's leak report, "Negative(-1) inflight
// packet-pages") are written as they would read in dmesg, prefixed by the lab and its virtual
// time, so an operator tailing ppsimd (or its JSON lines in Loki) sees what the kernels say.
#ifndef PPSIM_SERVER_SERVICE_KERNEL_LOG_SINK_H_
#define PPSIM_SERVER_SERVICE_KERNEL_LOG_SINK_H_

#include <memory>

#include "server/service/event_hub.h"
#include "spdlog/logger.h"

namespace ppsim::service {

class KernelLogSink final : public EventSink {
 public:
  // Publish runs under the hub and lab locks: give it an async logger so a slow stdout never
  // stalls a lab.
  explicit KernelLogSink(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

  void Publish(const v1::Event& e) override;
  void Close(const grpc::Status&) override {}  // nothing to end: it is not a stream

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_KERNEL_LOG_SINK_H_
