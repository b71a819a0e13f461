// File: client/chaos/costs.cc
#include "client/chaos/costs.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace ppsim::chaos {

TeardownCosts CostsOf(const LabFacts& facts) {
  TeardownCosts c;
  c.drain_time_ns = 0;
  bool never = false;
  for (const v1::PoolInfo& p : facts.pools) {
    if (p.has_detached_at_ns()) {
      if (p.has_freed_at_ns()) {
        c.drain_time_ns = std::max(c.drain_time_ns, p.freed_at_ns() - p.detached_at_ns());
      } else {
        never = true;
      }
    }
    if (p.has_device_removal_wait_ns()) {
      c.removal_latency_ns = std::max(c.removal_latency_ns, p.device_removal_wait_ns());
    }
    c.max_lock_hold_ns = std::max(c.max_lock_hold_ns, p.costs().max_lock_hold_ns());
    c.memory_overhead_bytes += p.costs().peak_memory_bytes();
    c.strategy_host_ns += p.costs().host_ns();
  }
  if (never) c.drain_time_ns = -1;
  return c;
}

std::string FormatNanos(int64_t ns) {
  const int64_t a = ns < 0 ? -ns : ns;
  if (a == 0) return "0";
  if (a >= 1'000'000'000) return absl::StrFormat("%.3f s", ns / 1e9);
  if (a >= 1'000'000) return absl::StrFormat("%.1f ms", ns / 1e6);
  if (a >= 1'000) return absl::StrFormat("%.1f us", ns / 1e3);
  return absl::StrFormat("%d ns", ns);
}

std::string FormatDrain(int64_t ns) { return ns < 0 ? "never" : FormatNanos(ns); }
std::string FormatRemoval(int64_t ns) { return ns < 0 ? "-" : FormatNanos(ns); }

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%d B", bytes);
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < uint64_t{1} << 30) return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024));
  return absl::StrFormat("%.1f GiB", bytes / (1024.0 * 1024 * 1024));
}

}  // namespace ppsim::chaos
