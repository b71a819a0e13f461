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

// %* in the text format: the message with every control character escaped (\n, \r, \t, \xNN)
// and backslashes doubled, so one event is one line whatever a client put in it: a lab name, a
// certificate CN with a newline, a field value quoted in an error (issue 21 item 4: a CN with
// "\n" wrote a line that looked like the daemon's own).
class TextEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\\') {
        dest.append(std::string_view("\\\\"));
      } else if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (c == '\r') {
        dest.append(std::string_view("\\r"));
      } else if (c == '\t') {
        dest.append(std::string_view("\\t"));
      } else if (u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(u));
        dest.append(std::string_view(buf));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextEscapedPayload>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeLogFormatter(const std::string& format) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    f->add_flag<JsonEscapedPayload>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%*"})");
  } else {
    f->add_flag<TextEscapedPayload>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-8l %-7n %*");
  }
  return f;
}

void SetupLogging(const std::string& format, const std::string& level) {
  spdlog::init_thread_pool(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  sink->set_formatter(MakeLogFormatter(format));
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
