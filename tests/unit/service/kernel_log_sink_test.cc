// server/service/kernel_log_sink: kernel log lines reach the log at their level with the lab
// and a dmesg-style virtual timestamp; other events do not.
#include "server/service/kernel_log_sink.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;

TEST(KernelLogSinkTest, WritesKernelLinesOnly) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l %v");
  auto logger = std::make_shared<spdlog::logger>("kernel-test", sink);
  logger->set_level(spdlog::level::debug);
  KernelLogSink kernel(logger);

  v1::Event line;
  line.set_lab(3);
  line.set_kind(v1::EVENT_KERNEL_LOG);
  line.set_level("warn");
  line.set_time_ns(61'500'000'000);
  line.set_text("page_pool_release_retry() stalled pool shutdown: id 2, 1 inflight 60 sec");
  kernel.Publish(line);
  v1::Event violation = line;
  violation.set_kind(v1::EVENT_VIOLATION);
  kernel.Publish(violation);
  logger->flush();

  EXPECT_EQ(out.str(),
            "warning lab 3 [   61.500000] page_pool_release_retry() stalled pool shutdown: id 2, "
            "1 inflight 60 sec\n");
}

}  // namespace
}  // namespace ppsim::service
