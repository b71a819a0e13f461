// Sizes the daemon and the in-process tests share. Kept in one place so ppsimd, the services' own checks and the tests agree.
#ifndef PPSIM_SERVER_SERVICE_LIMITS_H_
#define PPSIM_SERVER_SERVICE_LIMITS_H_

#include <cstddef>

namespace ppsim::service {

// Largest message either way. ExportTrace and ReplayTrace carry whole traces as JSON lines
// (~100 bytes an op), so the 4 MiB default would cap a trace near 40k ops; 64 MiB allows
// ~600k while still bounding what one call can make the daemon buffer.
inline constexpr int kMaxMessageBytes = 64 << 20;

// Events a Watch stream may have queued before it is ended with RESOURCE_EXHAUSTED. A
// violation storm from one lab is a few thousand events; a consumer further behind than this
// is not keeping up and would otherwise grow the daemon's memory without bound.
inline constexpr size_t kWatchQueueEvents = 4096;

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_LIMITS_H_
