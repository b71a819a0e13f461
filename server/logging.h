// ppsimd's logs (docs/running.md): stdout only, text or one JSON
// object per line, written by an async logger that drops the oldest lines rather than block
// (kernel log lines are written under a lab's lock). Loggers: "ppsimd" (the default logger)
// and "kernel" (the simulated kernels' lines, kernel_log_sink.h).
//
//   {"ts":"2025-01-01T10:00:00.123456Z","level":"warning","logger":"kernel","msg":"lab 1 ..."}
#ifndef PPSIM_SERVER_LOGGING_H_
#define PPSIM_SERVER_LOGGING_H_

#include <memory>
#include <string>

#include "spdlog/formatter.h"
#include "spdlog/logger.h"

namespace ppsim::daemon {

// `format` is text or json, `level` a spdlog level name (daemon_options.h checked both).
void SetupLogging(const std::string& format, const std::string& level);

// The formatter SetupLogging gives the sink. Both formats keep one event on one line: control
// characters a client put into a message (a name, a certificate CN) are escaped, never written.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(const std::string& format);

// The "kernel" logger; SetupLogging must have run.
std::shared_ptr<spdlog::logger> KernelLogger();

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_LOGGING_H_
