// A NAPI instance as page_pool sees it: page_pool_napi_local compares the current CPU with
// napi->list_owner (docs/kernel/page-pool.md §3.4).
#ifndef PPSIM_SERVER_SIM_NAPI_H_
#define PPSIM_SERVER_SIM_NAPI_H_

#include "server/sim/types.h"

namespace ppsim::sim {

struct Napi {
  NapiId id = 0;
  DeviceId device = 0;
  // CPU whose poll runs it: set by ____napi_schedule, reset to -1 by napi_complete_done and
  // napi_disable (op::NapiSchedule / op::NapiCompleteDone). Never pinned while the netdev is up.
  int list_owner = -1;
  bool enabled = false;  // napi_enable .. napi_disable (ndo_open .. ndo_stop)
  // Has a NAPI id user space can see: from netif_napi_add, or from the first napi_enable where
  // the profile assigns ids there (86e25f40aa1e); 0 is never reported.
  bool id_assigned = false;
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_NAPI_H_
