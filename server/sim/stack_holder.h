// Where the network stack keeps skbs (docs/design.md §3.8; docs/kernel/skb-and-iommu.md §3.2): a socket
// receive queue, the IPv4 defragmentation queue (ip_expire after 30 s), the per-CPU deferred
// free list (flushed only when that CPU runs net_rx_action again), a qdisc and a TCP
// retransmit queue. Holders are named by kind and CPU; they free their skbs in the context
// the kernel would (softirq on their CPU, or process context for a reading socket).
#ifndef PPSIM_SERVER_SIM_STACK_HOLDER_H_
#define PPSIM_SERVER_SIM_STACK_HOLDER_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/sim/clock.h"
#include "server/sim/skb.h"
#include "server/sim/types.h"

namespace ppsim::sim {

class Machine;

enum class HolderKind : uint8_t { kSocket, kDefrag, kDeferFree, kQdisc, kRetransmit };
absl::string_view HolderKindName(HolderKind k);
absl::StatusOr<HolderKind> ParseHolderKind(absl::string_view name);

inline constexpr Nanos kIpFragTime = 30 * kSecond;  // net.ipv4.ipfrag_time default

using HolderId = uint32_t;

struct StackHolder {
  HolderId id = 0;
  HolderKind kind = HolderKind::kSocket;
  uint16_t cpu = 0;
  std::deque<SkbId> skbs;
  // defer_count of a deferred-free list: the skbs skb_attempt_defer_free counted since the last
  // flush (the list's length, or more under SkbDeferRule::kCountThenCheck).
  uint64_t defer_count = 0;
};

// Queues `skb` on the holder (kind, cpu), creating it on first use. The defrag queue frees it
// 30 s later (delay_holder_release can push that back); the deferred-free list keeps it until
// net_rx_action runs on `cpu`; the others until released explicitly.
HolderId StackHold(Machine& m, SkbId skb, HolderKind kind, uint16_t cpu);
// skb_attempt_defer_free (net/core/skbuff.c; docs/kernel/skb-and-iommu.md §3.2): an skb freed
// away from the CPU that allocated it waits on that CPU's deferred-free list, within the
// profile's SkbDeferRule and skb_defer_max; otherwise it is freed at once, here. Queuing the
// skb queued when the count reads half the max kicks the owning CPU: an IPI raises NET_RX
// there, and net_rx_action flushes the list at the next tick of virtual time (1 ns later).
// Returns the holder, 0 if freed at once.
HolderId SkbAttemptDeferFree(Machine& m, SkbId skb);
// Frees up to `count` skbs (0 = all) from the holder, oldest first. Returns how many.
uint32_t StackRelease(Machine& m, HolderKind kind, uint16_t cpu, uint32_t count);
// net_rx_action on `cpu`: skb_defer_free_flush first.
uint32_t NetRxAction(Machine& m, uint16_t cpu);
// The context a holder frees in.
ExecContext HolderContext(HolderKind kind, uint16_t cpu);

}  // namespace ppsim::sim

#endif  // PPSIM_SERVER_SIM_STACK_HOLDER_H_
