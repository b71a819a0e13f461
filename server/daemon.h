// ppsimd's life once its options are parsed: bind the metrics and gRPC listeners, announce
// them (--ready-file), serve until SIGTERM/SIGINT, then shut down in this order (gRPC's
// graceful-shutdown pattern, docs/running.md): health NOT_SERVING, Watch streams ended
// with UNAVAILABLE, Server::Shutdown with a 5 s deadline for in-flight calls, Wait.
#ifndef PPSIM_SERVER_DAEMON_H_
#define PPSIM_SERVER_DAEMON_H_

#include <csignal>

#include "server/daemon_options.h"
#include "server/exit_codes.h"

namespace ppsim::daemon {

// Blocks SIGINT and SIGTERM in the calling thread; call it first thing in main, before any
// thread exists, so every thread (gRPC's, civetweb's, spdlog's) inherits the mask and only
// RunDaemon's sigwait thread sees the signals.
sigset_t BlockShutdownSignals();

// Serves until a signal in `signals` arrives; returns the exit status. Logging must be set up
// (logging.h); the caller drains it with spdlog::shutdown() after.
int RunDaemon(const DaemonOptions& options, const sigset_t& signals);

}  // namespace ppsim::daemon

#endif  // PPSIM_SERVER_DAEMON_H_
