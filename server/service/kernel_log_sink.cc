#include "server/service/kernel_log_sink.h"

namespace ppsim::service {

namespace {

// The sim's levels (events.cc LogLevelName) onto spdlog's.
spdlog::level::level_enum LevelOf(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "err") return spdlog::level::err;
  if (level == "crit") return spdlog::level::critical;
  return spdlog::level::info;
}

}  // namespace

void KernelLogSink::Publish(const v1::Event& e) {
  if (e.kind() != v1::EVENT_KERNEL_LOG) return;
  const spdlog::level::level_enum level = LevelOf(e.level());
  if (!logger_->should_log(level)) return;
  // dmesg's "[seconds.micros]" stamp, in the lab's virtual time.
  logger_->log(level, "lab {} [{:12.6f}] {}", e.lab(), static_cast<double>(e.time_ns()) / 1e9,
               e.text());
}

}  // namespace ppsim::service
