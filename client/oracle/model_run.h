// A sequence of the oracle's op language run on an embedded sim::Lab: each op translated to the
// model's ops (server/sim/ops.h), the sequence's indices mapped to the model's ids as objects
// are created, and after each op the model's view of what the kernel's module observes
// (observation.h).
//
// The lab is the oracle's guest (tests/oracle/README.md, QEMU): one CPU, 1 GiB on two NUMA
// nodes, no IOMMU (the platform devices use dma-direct: ppsim's passthrough model), the lowest
// 64 KiB reserved as x86 reserves them.
//
// The translation, op by op (model_run.cc says why for each):
//   netdev_register          add_device + bind_driver (generic, no pool flags, not up), with
//                            as many RX queues (NAPIs) as the sequence will napi_add on it
//   napi_add                 nothing: hands out the next NAPI the bind created
//   napi_enable/_disable     netdev_up / netdev_down of that netdev's device; UNIMPLEMENTED when
//                            the netdev has more than one NAPI (the model switches them together)
//   napi_del, observe        nothing
//   netdev_unregister        unbind_driver (pools still alive move to lo)
//   add_device               add_device
//   page_pool_*, get_page, put_page, advance_time: the model op of the same name
//   skb ops (skb_build, skb_clone, pskb_expand_head, skb_split, skb_shift, skb_try_coalesce,
//   skb_gro_receive, skb_segment, skb_frag_ref, kfree_skb, napi_consume_skb,
//   skb_attempt_defer_free, stack_hold, stack_release): the model op of the same name, skbs
//   named by index in creation order as the module names them (tests/oracle/kmod/ppo_skb.c);
//   a page given to skb_build moves the sequence's pool reference into the skb.
// Contexts: @process is process context on CPU 0; @bh is softirq on CPU 0 outside any NAPI poll
// (BH disabled: in_softirq() holds, no list_owner is this CPU); @napi is the same inside a poll
// of the pool's NAPI: napi_schedule before the op, napi_complete_done after it, as the module's
// poll callback runs the op between ____napi_schedule and napi_complete_done.
// What the module refuses to do (tests/oracle/kmod/ppo_*.c: returning a page it holds no
// reference to, touching a pool that may be freed, @napi on a disabled NAPI, ...) is refused
// here too, without asking the model.
#ifndef PPSIM_CLIENT_ORACLE_MODEL_RUN_H_
#define PPSIM_CLIENT_ORACLE_MODEL_RUN_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/oracle/index_map.h"
#include "client/oracle/observation.h"
#include "client/oracle/ops_file.h"
#include "server/sim/lab.h"

namespace ppsim::oracle {

// The oracle guest as a LabConfig, with `profile`.
sim::LabConfig OracleLabConfig(const std::string& profile);

class ModelRun {
 public:
  // INVALID_ARGUMENT for an unknown profile. `file` is the whole sequence: the NAPIs of each
  // netdev are counted ahead, since the model's bind creates them.
  static absl::StatusOr<std::unique_ptr<ModelRun>> Create(const std::string& profile,
                                                          const OpsFile& file);

  // Applies one op and observes. UNIMPLEMENTED, naming the op and its line, when the model
  // cannot express it; a refused op is an observation (refused, err), not an error.
  absl::StatusOr<OpObs> Apply(const OracleOp& op, int index);

  const IndexMap& map() const { return map_; }
  sim::Lab& lab() { return *lab_; }

 private:
  ModelRun(std::unique_ptr<sim::Lab> lab, std::map<int, int> napis_per_netdev)
      : lab_(std::move(lab)), napis_per_netdev_(std::move(napis_per_netdev)) {}

  // One handler per op (model_run.cc). OK = applied; UNIMPLEMENTED = cannot be expressed; any
  // other status = refused, with the reason. `touched` collects the pages the module would
  // report for the op.
  absl::Status Do(const OracleOp& op, std::vector<int>& touched);
  absl::Status NetdevRegister();
  // The netdev of `index`, refused when it is not registered (any more).
  absl::StatusOr<NetdevEntry*> RegisteredNetdev(int64_t index);
  absl::Status NetdevUnregister(const OracleOp& op);
  absl::Status NapiAdd(const OracleOp& op);
  absl::Status NapiSwitch(const OracleOp& op, bool enable);
  absl::Status NapiDel(const OracleOp& op);
  absl::Status PoolCreate(const OracleOp& op);
  absl::Status PoolDestroy(const OracleOp& op, std::vector<int>& touched);
  absl::Status Alloc(const OracleOp& op, std::vector<int>& touched);
  absl::Status Put(const OracleOp& op, std::vector<int>& touched);
  absl::Status PutBulk(const OracleOp& op, std::vector<int>& touched);
  absl::Status PoolControl(const OracleOp& op);
  absl::Status PageRef(const OracleOp& op, std::vector<int>& touched);
  // skbs (model_run.cc, after the page_pool ops)
  absl::Status SkbOp(const OracleOp& op, std::vector<int>& touched);
  absl::Status SkbBuild(const OracleOp& op);
  // The model id of skb `index`, refused as ppo_skb.c skb_arg refuses (freed, chained, held).
  absl::StatusOr<sim::SkbId> SkbArg(const OracleOp& op, absl::string_view key, bool allow_held);
  // The pool (index) whose NAPI an @napi skb op runs in: that of the skb's first frag page,
  // else its head page (ppo_skb.c skb_pool); 0 when none.
  int SkbPool(sim::SkbId id);
  // The pages an skb references (head page, frags) by index, the latest allocation of each frame.
  std::vector<int> SkbPages(sim::SkbId id);
  int PageIndexOfPfn(sim::Pfn pfn) const;
  void TouchSkb(int index, std::vector<int>& touched);
  // ppo_pool.c ppo_pool_reachable: live, or destroyed with a page the sequence owns or a page
  // of a held skb that the pool has not released.
  bool Reachable(int pool);

  // The op's context for the model; refused like ppo_run_ctx when @napi cannot run.
  absl::StatusOr<sim::ExecContext> Context(const OracleOp& op, OracleCtx def, int pool);
  absl::Status Model(sim::ExecContext ctx, sim::OpBody body, sim::OpResult* result = nullptr);

  // model_observe.cc: the model's side of the observation.
  OpObs Observe(const OracleOp& op, int index, const absl::Status& status,
                const std::vector<int>& touched);
  PoolObs ObservePool(int pool);
  PageObs ObservePage(int page);
  SkbObs ObserveSkb(int skb);
  std::vector<NetlinkObs> ObserveNetlink() const;
  LogFlags ObserveLog();

  std::unique_ptr<sim::Lab> lab_;
  std::map<int, int> napis_per_netdev_;
  // The poll an @napi op runs in: scheduled by Context(), completed after the op.
  struct Poll {
    sim::DeviceId device = 0;
    uint32_t queue = 0;
  };
  std::optional<Poll> poll_;
  IndexMap map_;
  std::vector<sim::SkbId> skbs_;     // index - 1 → the model's skb id
  std::vector<int> touched_skbs_;    // of the current op, in order
  int64_t start_ns_ = 0;             // the lab's clock before the first op

};

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_MODEL_RUN_H_
