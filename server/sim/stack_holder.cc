#include "server/sim/stack_holder.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/sim/check.h"
#include "server/sim/machine.h"

namespace ppsim::sim {

absl::string_view HolderKindName(HolderKind k) {
  switch (k) {
    case HolderKind::kSocket: return "socket";
    case HolderKind::kDefrag: return "defrag";
    case HolderKind::kDeferFree: return "defer_free";
    case HolderKind::kQdisc: return "qdisc";
    case HolderKind::kRetransmit: return "retransmit";
  }
  return "?";
}

absl::StatusOr<HolderKind> ParseHolderKind(absl::string_view name) {
  for (HolderKind k : {HolderKind::kSocket, HolderKind::kDefrag, HolderKind::kDeferFree,
                       HolderKind::kQdisc, HolderKind::kRetransmit}) {
    if (HolderKindName(k) == name) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "holder: \"", name, "\"; expected socket, defrag, defer_free, qdisc or retransmit"));
}

ExecContext HolderContext(HolderKind kind, uint16_t cpu) {
  // recvmsg frees in the reader's process context; everything else in softirq (ip_expire is a
  // timer, the defer list is flushed by net_rx_action, qdisc and ACK processing run in
  // NET_TX/NET_RX softirq).
  return kind == HolderKind::kSocket ? ExecContext{CtxKind::kProcess, cpu}
                                     : ExecContext{CtxKind::kSoftirq, cpu};
}

namespace {

StackHolder& Holder(Machine& m, HolderKind kind, uint16_t cpu) {
  const uint64_t key = uint64_t{static_cast<uint8_t>(kind)} << 16 | cpu;
  StackHolder& h = m.holders[key];
  if (h.id == 0) {
    h.id = static_cast<HolderId>(m.holders.size());
    h.kind = kind;
    h.cpu = cpu;
  }
  return h;
}

void FreeHeld(Machine& m, StackHolder& h, SkbId id) {
  const ExecContext saved = m.ctx;
  m.ctx = HolderContext(h.kind, h.cpu);
  FindOrDie(m.skbs, id, "skb").holder = 0;
  KfreeSkb(m, id);
  m.ctx = saved;
}

// ip_expire: the fragment queue times out and frees what it held.
void ScheduleExpiry(Machine& m, HolderKind kind, uint16_t cpu, SkbId id, Nanos at) {
  m.clock.Schedule(at, "ip_expire", [&m, kind, cpu, id] {
    StackHolder& h = Holder(m, kind, cpu);
    auto it = std::find(h.skbs.begin(), h.skbs.end(), id);
    if (it == h.skbs.end()) return;  // released earlier
    if (m.ShouldFail(FaultSite::kDelayHolderRelease, {.ctx = HolderContext(kind, cpu)})) {
      const Nanos delay = m.faults.spec(FaultSite::kDelayHolderRelease)->delay_ns;
      ScheduleExpiry(m, kind, cpu, id, m.clock.now() + delay);
      return;
    }
    h.skbs.erase(it);
    FreeHeld(m, h, id);
  });
}

HolderId Queue(Machine& m, StackHolder& h, SkbId skb) {
  h.skbs.push_back(skb);
  FindOrDie(m.skbs, skb, "skb").holder = h.id;
  m.digest.Mix(DigestTag::kStackHold, uint64_t{h.id} << 24 | skb);
  if (h.kind == HolderKind::kDefrag) {
    ScheduleExpiry(m, h.kind, h.cpu, skb, m.clock.now() + kIpFragTime);
  }
  return h.id;
}

}  // namespace

HolderId StackHold(Machine& m, SkbId skb, HolderKind kind, uint16_t cpu) {
  StackHolder& h = Holder(m, kind, cpu);
  if (kind == HolderKind::kDeferFree) ++h.defer_count;
  return Queue(m, h, skb);
}

HolderId SkbAttemptDeferFree(Machine& m, SkbId skb) {
  const uint16_t cpu = FindOrDie(m.skbs, skb, "skb").alloc_cpu;
  const SkbDeferRule rule = m.profile.skb_defer_rule;
  const uint64_t max = m.profile.skb_defer_max;
  if (rule == SkbDeferRule::kAbsent || cpu == m.ctx.cpu) {
    KfreeSkb(m, skb);
    return 0;
  }
  StackHolder& h = Holder(m, HolderKind::kDeferFree, cpu);
  // The count as it reads before this skb is counted; kCountThenCheck counts a refused one too.
  const uint64_t before = h.defer_count;
  if (rule == SkbDeferRule::kCountThenCheck) ++h.defer_count;
  if ((rule == SkbDeferRule::kCountThenCheck ? h.defer_count : before) >= max) {
    KfreeSkb(m, skb);  // nodefer: freed here, in the caller's context
    return 0;
  }
  if (rule == SkbDeferRule::kCheckThenCount) ++h.defer_count;
  const HolderId id = Queue(m, h, skb);
  if (before == max / 2) {
    // trigger_rx_softirq on `cpu` (kick_defer_list_purge since 80d2eefcb4c8): its net_rx_action
    // runs skb_defer_free_flush. The IPI is asynchronous: the flush runs at the next tick of
    // virtual time, so a burst of frees at one instant can still meet the bound.
    m.clock.Schedule(m.clock.now() + 1, "defer_csd", [&m, cpu] { NetRxAction(m, cpu); });
  }
  return id;
}

uint32_t StackRelease(Machine& m, HolderKind kind, uint16_t cpu, uint32_t count) {
  StackHolder& h = Holder(m, kind, cpu);
  uint32_t n = 0;
  while (!h.skbs.empty() && (count == 0 || n < count)) {
    const SkbId id = h.skbs.front();
    h.skbs.pop_front();
    FreeHeld(m, h, id);
    ++n;
  }
  // skb_defer_free_flush zeroes the count; a partial release leaves the rest counted.
  if (h.skbs.empty()) {
    h.defer_count = 0;
  } else {
    h.defer_count -= std::min<uint64_t>(h.defer_count, n);
  }
  m.digest.Mix(DigestTag::kStackRelease, uint64_t{h.id} << 24 | n);
  return n;
}

uint32_t NetRxAction(Machine& m, uint16_t cpu) {
  return StackRelease(m, HolderKind::kDeferFree, cpu, 0);
}

}  // namespace ppsim::sim
