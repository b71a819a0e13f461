// A NAPI instance as page_pool sees it: page_pool_napi_local compares the current CPU with
// napi->list_owner (kernel/page-pool.md §3.4).
#ifndef PPSIM_SERVER_SIM_NAPI_H_
#define PPSIM_SERVER_SIM_NAPI_H_

#include "server/sim/types.h"

namespace ppsim::sim {

struct Napi {
  NapiId id = 0;
  DeviceId device = 0;
  int list_owner = -1;  // CPU the NAPI is scheduled on; -1 = not scheduled / disabled
};

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_NAPI_H_
