#include "client/ppctl/chaos_flags.h"

#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

void AddChaosWorkloadFlags(CLI::App* cmd, chaos::ChaosCliFlags* r) {
  cmd->add_option("--target", r->target, "ppsimd HOST:PORT; without it the labs are in-process");
  AddSecurityOptions(cmd, &r->connection);
  cmd->add_option("--connect-timeout", r->connect_timeout_s, "Seconds to wait for --target")
      ->capture_default_str();
  cmd->add_option("--seed", r->seed, "Seed (default: a random one, printed)");
  cmd->add_option("--strategy", r->strategies,
                  "Teardown strategy (repeatable: one run each on the same seed)");
  cmd->add_option("--profile", r->profile, "Kernel profile (default: the model's, v6.15)");
  cmd->add_option("--weights", r->weights,
                  "Op-kind weights, e.g. alloc=5,free=3 (kinds: ppctl chaos --help-kinds)");
  cmd->add_option("--fault", r->faults,
                  "A fault, e.g. site=fail_dma_map,probability=0.01,times=3 (repeatable)");
  cmd->add_option("--scenario", r->scenario,
                  "Take the chaos block, lab, strategies and expect from this scenario");
  cmd->add_option("--liveness", r->liveness,
                  "After the chaos (and its heal phase), advance this long and require every "
                  "pool drained, e.g. 130s");
  cmd->add_option("--fail-on", r->fail_on,
                  "Severities that fail a run without --scenario (default crash,corruption)")
      ->delimiter(',');
}

}  // namespace ppsim::ppctl
