#include "server/logging.h"

#include <cstdio>

#include "spdlog/async.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace ppsim::daemon {

namespace {

// %* : the message as the inside of a JSON string. A raw %v breaks the line on a quote or a
// newline (gabime/spdlog#1258); kernel lines and error messages carry both.
class JsonEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedPayload>();
  }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(const std::string& format) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    f->add_flag<JsonEscapedPayload>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%*"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-8l %-7n %v");
  }
  return f;
}

}  // namespace

void SetupLogging(const std::string& format, const std::string& level) {
  spdlog::init_thread_pool(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  sink->set_formatter(MakeFormatter(format));
  const spdlog::level::level_enum lvl = spdlog::level::from_str(level);
  for (const char* name : {"ppsimd", "kernel"}) {
    auto logger = std::make_shared<spdlog::async_logger>(
        name, sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
    logger->set_level(lvl);
    spdlog::register_logger(logger);
    if (std::string_view(name) == "ppsimd") spdlog::set_default_logger(logger);
  }
}

std::shared_ptr<spdlog::logger> KernelLogger() { return spdlog::get("kernel"); }

}  // namespace ppsim::daemon
