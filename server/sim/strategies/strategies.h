// Factories of the teardown strategies, one file each; the registry in
// ../teardown_strategy.cc lists them.
#ifndef PPSIM_SERVER_SIM_STRATEGIES_STRATEGIES_H_
#define PPSIM_SERVER_SIM_STRATEGIES_STRATEGIES_H_

#include <memory>

#include "server/sim/teardown_strategy.h"

namespace ppsim::sim {

std::unique_ptr<TeardownStrategy> MakeLegacyStrategy(const Machine& m, const PagePool& pool);
std::unique_ptr<TeardownStrategy> MakeScanStrategy(const Machine& m, const PagePool& pool);
std::unique_ptr<TeardownStrategy> MakeItemsStrategy(const Machine& m, const PagePool& pool);
std::unique_ptr<TeardownStrategy> MakeDmaTrackingStrategy(const Machine& m, const PagePool& pool);
std::unique_ptr<TeardownStrategy> MakeTceWaitStrategy(const Machine& m, const PagePool& pool);
std::unique_ptr<TeardownStrategy> MakeReleaseOnDestroyStrategy(const Machine& m,
                                                               const PagePool& pool);

// Shared by the strategies that unmap at destroy without holding a page reference.
void UnmapForTeardown(Machine& m, PagePool& pool, Pfn pfn, Frame& f);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_STRATEGIES_STRATEGIES_H_
