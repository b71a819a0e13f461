// server/logging.h: one event is one line in both formats, whatever a client put into the
// message (issue 21 item 4: a client certificate CN with a newline forged a daemon line).
#include "server/logging.h"

#include <gtest/gtest.h>

#include <string>

#include "spdlog/details/log_msg.h"

namespace ppsim::daemon {
namespace {

std::string Format(const std::string& format, const std::string& payload) {
  const spdlog::details::log_msg msg("ppsimd", spdlog::level::info, payload);
  spdlog::memory_buf_t out;
  MakeLogFormatter(format)->format(msg, out);
  return std::string(out.data(), out.size());
}

constexpr char kForgery[] =
    "rpc CreateLab refused: PERMISSION_DENIED: evil\n2026-01-01T00:00:00.000000Z info     "
    "ppsimd  stopped\r\x1b[2K\\";

TEST(LoggingTest, TextEscapesControlCharactersSoAClientCannotAddALine) {
  const std::string line = Format("text", kForgery);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;  // only the line's own end
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("evil\\n2026-01-01T00:00:00.000000Z info"), std::string::npos) << line;
  EXPECT_NE(line.find("stopped\\r\\x1b[2K\\\\"), std::string::npos) << line;
}

TEST(LoggingTest, JsonKeepsTheMessageInsideOneString) {
  const std::string line = Format("json", std::string(kForgery) + "\"}");
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find("evil\\n2026"), std::string::npos) << line;
  EXPECT_NE(line.find("\\u001b[2K\\\\\\\"}\"}"), std::string::npos) << line;
}

}  // namespace
}  // namespace ppsim::daemon
