// The catalog as oracle sequences (issue 12 item 5, tests/oracle/README.md "The catalog"):
// a scenario of client/scenarios/ translated into the kernel oracle's op language
// (ops_file.h), the reverse direction of model_run.h.
//
// The scenario runs once on an embedded lab with its own profile, lab and first strategy, so
// every $reference resolves to the ids the model handed out (how many pages an alloc gave,
// which skbs skb_segment made); the ids are renamed to the oracle's 1-based creation-order
// indices as the ops create them. Op by op:
//   add_device               add_device (the guest's platform device, dma-direct: the
//                            scenario's IOMMU is noted in the header, not expressed)
//   bind_driver              the driver's probe: netdev_register, napi_add, and when up (the
//                            default) its ndo_open as the model's NetdevOpen does it
//                            (server/sim/device.cc): napi_enable, then page_pool_create with
//                            the bind's pool params, device=, napi=, netdev= (pool_size 0:
//                            1024, page_pool_init's default ring)
//   netdev_up / netdev_down  napi_enable + page_pool_create / napi_disable + page_pool_destroy
//   unbind_driver            the driver's remove: ndo_stop when up (napi_disable,
//                            page_pool_destroy), then netdev_unregister (free_netdev deletes
//                            the NAPI; pools in flight move to lo)
//   page_pool_*, get_page, put_page, skb ops, stack_hold/release (socket, CPU 0),
//   advance_time             the oracle op of the same name, ids as indices
//   liveness: advance: T     advance_time T (the kernel's drain; liveness_check is a model
//                            verdict, no kernel op)
// Contexts: @process:0 → @process, @softirq:0 → @bh (softirq on CPU 0 outside any NAPI poll:
// the model's list_owner is -1 unless napi_schedule ran). Ops on another CPU, workqueue
// context, napi_schedule/napi_complete_done (a poll spanning ops), chaos sections, faults,
// device removal, device_dma, non-pool pages, frags, XDP, netdevsim, several RX queues, ...
// make the whole scenario UNIMPLEMENTED, naming its file, step, line and op: nothing is
// silently dropped. A translation is then run on the oracle's model (model_run.h, v6.12): an op
// that side refuses is one the module refuses too (a page it no longer holds, an skb_segment of
// a frag_list, ...), and refuses the scenario the same way.
//
// The scenario's profile and profile switches are not part of the sequence: `ppctl oracle`
// compares each kernel with the model under that kernel's profile. Strategies: one sequence per
// scenario, with no strategy= (the model then uses the profile's own teardown, as the kernel).
//
// Example:
//   absl::StatusOr<CatalogSequence> t = TranslateScenarioFile("client/scenarios/x.yaml");
//   t->name == "catalog-x"; t->Text() is the .ops file
#ifndef PPSIM_CLIENT_ORACLE_FROM_SCENARIO_H_
#define PPSIM_CLIENT_ORACLE_FROM_SCENARIO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/chaos/scenario.h"

namespace ppsim::oracle {

struct CatalogSequence {
  std::string scenario;            // the scenario's name
  std::string name;                // "catalog-<scenario>": the .ops file's name
  std::vector<std::string> notes;  // header comments: source, profile, what is not expressed
  std::vector<std::string> lines;  // ops and "# step N: ..." comments, in order
  int ops = 0;                     // op lines (comments aside)

  std::string Text() const;  // the .ops file
};

// UNIMPLEMENTED "FILE:LINE: scenario NAME: steps[i]: OP: why" for what the module cannot
// express; INVALID_ARGUMENT for a scenario that does not run on the model.
absl::StatusOr<CatalogSequence> TranslateScenario(const chaos::Scenario& s);
absl::StatusOr<CatalogSequence> TranslateScenarioFile(const std::string& path);

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_FROM_SCENARIO_H_
