// What the lab metrics read at scrape time, and no more: the labs a daemon hosts, each with its
// own lock held while it is read. The daemon implements it over its lab registry
// (server/service_metrics.h); the metrics never see the registry or anything else of the
// services, so the two libraries do not depend on each other.
#ifndef PPSIM_SERVER_METRICS_LAB_SOURCE_H_
#define PPSIM_SERVER_METRICS_LAB_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "server/sim/lab.h"

namespace ppsim::metrics {

// One hosted lab as a scrape sees it. Valid only inside the LabSource::ForEachLab callback.
struct LabView {
  uint64_t id;
  const sim::Lab& lab;
  // Applied ops by op name (ppsim_ops_total{op}).
  const std::map<std::string, uint64_t, std::less<>>& ops_by_name;
  // "" unless rebuilding the lab from the journal diverged (ppsim_lab_recovery_diverged).
  absl::string_view recovery_problem;
};

class LabSource {
 public:
  virtual ~LabSource() = default;
  // Calls `fn` for every hosted lab that has a model, holding that lab's lock for the call, and
  // returns how many labs are hosted. `fn` must not call back into the source.
  virtual size_t ForEachLab(const std::function<void(const LabView&)>& fn) const = 0;
};

}  // namespace ppsim::metrics

#endif  // PPSIM_SERVER_METRICS_LAB_SOURCE_H_
