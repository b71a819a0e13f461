#include "tests/support/op_decoder.h"

#include <cstdio>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "server/sim/fault_injector.h"
#include "server/sim/invariants.h"
#include "server/sim/kernel_profile.h"
#include "server/sim/lab_test_peer.h"
#include "server/sim/teardown_strategy.h"

namespace ppsim::testing {
namespace {

using sim::PageHandle;

template <class T>
T Pick(ByteReader& in, const std::vector<T>& from, T fallback) {
  // One read in 16 names something that is not there (0, or one past the newest), so the
  // model's validation stays under test too.
  const uint8_t b = in.Byte();
  if (from.empty() || b % 16 == 15) return b % 2 ? fallback : T{};
  return from[(b / 16 + in.Byte()) % from.size()];
}

uint32_t SmallNumber(ByteReader& in) {
  static constexpr uint32_t kEdges[] = {0, 1, 2, 63, 64, 127, 128, 255, 256, 1024, 2048,
                                        4095, 4096, 16384, 65535, 0xffffffffu};
  const uint8_t b = in.Byte();
  if (b < 192) return b % 8;
  return kEdges[b % std::size(kEdges)];
}

std::string PickString(ByteReader& in, absl::string_view field) {
  std::vector<std::string> choices;
  if (field == "strategy") {
    choices = {""};
    for (const sim::StrategyInfo& s : sim::StrategyRegistry()) choices.emplace_back(s.name);
  } else if (field == "iommu_model") {
    choices = {"", "intel", "ppc-ddw", "passthrough"};
  } else if (field == "driver") {
    choices = {"generic", "netdevsim"};
  } else if (field == "holder") {
    choices = {"socket", "defrag", "defer_free", "qdisc", "retransmit"};
  } else if (field == "site") {
    choices = {""};
    for (const sim::FaultSiteInfo& f : sim::FaultSites()) choices.emplace_back(f.name);
  } else if (field == "filter_ctx") {
    choices = {"", "process", "softirq", "workqueue"};
  } else {
    choices = {"", "eth0"};
  }
  const uint8_t b = in.Byte();
  if (b % 32 == 31) return "no-such-" + std::string(field);
  return choices[b % choices.size()];
}

// Fills one field of an op from the bytes, by its name and type.
struct FieldFiller {
  ByteReader* in;
  const LiveObjects* live;
  const sim::LabConfig* config;
  std::vector<sim::DmaAddr>* dma_addrs;

  uint32_t Id(absl::string_view name) {
    ByteReader& r = *in;
    if (name == "device" || name == "filter_device") {
      return Pick(r, live->devices, live->devices.empty() ? 1u : live->devices.back() + 1);
    }
    if (name == "pool" || name == "filter_pool") {
      return Pick(r, live->pools, live->pools.empty() ? 1u : live->pools.back() + 1);
    }
    if (name == "skb" || name == "p" || name == "to" || name == "from" || name == "tgt" ||
        name == "racing_clone") {
      return Pick(r, live->skbs, live->skbs.empty() ? 1u : live->skbs.back() + 1);
    }
    if (name == "napi") return Pick(r, live->napis, 1u);
    if (name == "netdev" || name == "ifindex") return Pick(r, live->ifindexes, 1u);
    if (name == "reader") return Pick(r, live->readers, 1u);
    if (name == "count") {
      const uint8_t b = r.Byte();
      return b < 240 ? b % 70 : (b % 2 ? 1024u : 0u);
    }
    if (name == "keep_frags" || name == "at" || name == "frag") return r.Below(6);
    if (name == "cpu") return r.Below(config->cpus + 1);
    return SmallNumber(r);
  }

  template <class T>
  void operator()(absl::string_view name, T& v) {
    ByteReader& r = *in;
    if constexpr (std::is_same_v<T, PageHandle>) {
      // "expect" and a skb's "head" are optional: 0 means not given.
      v = Pick(r, live->pages, PageHandle{live->pages.empty() ? 1 : live->pages.back().pfn + 1, 0});
    } else if constexpr (std::is_same_v<T, std::vector<PageHandle>>) {
      v.clear();
      for (uint32_t i = 0, n = 1 + r.Below(4); i < n; ++i) v.push_back(Pick(r, live->pages, {}));
    } else if constexpr (std::is_same_v<T, std::vector<sim::op::FragArg>>) {
      v.clear();
      for (uint32_t i = 0, n = r.Below(5); i < n; ++i) {
        v.push_back({.page = Pick(r, live->pages, {}), .offset = SmallNumber(r),
                     .len = SmallNumber(r)});
      }
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      v.clear();
      for (uint32_t i = 0, n = 2 + r.Below(3); i < n; ++i) v.push_back(Id("skb"));
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = PickString(r, name);
    } else if constexpr (std::is_same_v<T, bool>) {
      v = r.Byte() & 1;
    } else if constexpr (std::is_same_v<T, double>) {
      static constexpr double kP[] = {1.0, 0.5, 0.0, 0.1};
      v = kP[r.Below(4)];
    } else if constexpr (std::is_same_v<T, sim::DmaDir>) {
      v = static_cast<sim::DmaDir>(r.Below(4));
    } else if constexpr (std::is_same_v<T, int32_t>) {
      v = static_cast<int32_t>(r.Below(5)) - 1;  // nid, strict: -1 .. 3
    } else if constexpr (std::is_same_v<T, int64_t>) {
      // Nanos (ns, delay_ns), times, dma_sync_size.
      static constexpr int64_t kN[] = {-1, 0, 1, 4096, 1'000'000, 1'000'000'000,
                                       2'000'000'000, 61'000'000'000, 121'000'000'000};
      v = kN[r.Below(std::size(kN))];
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      if (name == "iova") {
        v = dma_addrs->empty() || r.Byte() % 8 == 7
                ? uint64_t{r.U16()} << 12
                : (*dma_addrs)[r.Byte() % dma_addrs->size()];
      } else {
        v = SmallNumber(r);
      }
    } else if constexpr (std::is_same_v<T, uint32_t>) {
      v = Id(name);
    } else if constexpr (std::is_same_v<T, uint16_t> || std::is_same_v<T, uint8_t>) {
      v = static_cast<T>(SmallNumber(r));
    } else {
      static_assert(std::is_void_v<T>, "an op field type the decoder does not know");
    }
  }
};

template <size_t I = 0>
sim::OpBody MakeBody(size_t index) {
  if constexpr (I + 1 < std::variant_size_v<sim::OpBody>) {
    if (index != I) return MakeBody<I + 1>(index);
  }
  return sim::OpBody(std::in_place_index<I>);
}

}  // namespace

sim::LabConfig DecodeLabConfig(ByteReader& in) {
  sim::LabConfig c;
  const std::span<const sim::KernelProfile> profiles = sim::BuiltinProfiles();
  c.profile = profiles[in.Below(static_cast<uint32_t>(profiles.size()))].name;
  c.ram_bytes = uint64_t{8} << 20;  // 2048 frames: allocation failure is reachable
  c.cpus = 4;
  c.numa_nodes = 1 + in.Below(2);
  c.page_event_log_capacity = 4096;
  c.max_violation_records = 256;
  c.seed = 1;
  return c;
}

void LiveObjects::Observe(const sim::Lab& lab, const sim::OpResult& result) {
  for (const sim::PageRef& p : result.pages) pages.push_back(p.page);
  if (pages.size() > 256) pages.erase(pages.begin(), pages.begin() + 64);
  const sim::Machine& m = sim::LabTestPeer::machine(lab);
  skbs.clear();
  for (const auto& [id, skb] : m.skbs) skbs.push_back(id);
  pools.clear();
  for (const auto& [id, pool] : m.pools) pools.push_back(id);
  devices.clear();
  ifindexes.clear();
  for (const auto& [id, dev] : m.devices) {
    devices.push_back(id);
    absl::StatusOr<sim::DeviceInfo> d = lab.GetDevice(id);
    if (d.ok() && d->ifindex != 0) ifindexes.push_back(d->ifindex);
  }
  napis.clear();
  for (const auto& [id, napi] : m.napis) napis.push_back(id);
  readers.clear();
  for (const auto& [id, reader] : m.readers) readers.push_back(id);
}

sim::Op DecodeOp(ByteReader& in, const LiveObjects& live, const sim::LabConfig& config,
                 std::vector<sim::DmaAddr>* dma_addrs) {
  sim::Op op;
  const uint8_t kind = in.Byte();
  op.ctx.kind = static_cast<sim::CtxKind>(kind % 3);
  op.ctx.cpu = static_cast<uint16_t>((kind / 3) % config.cpus);
  op.body = MakeBody(in.Below(std::variant_size_v<sim::OpBody>));
  FieldFiller fill{&in, &live, &config, dma_addrs};
  std::visit([&](auto& o) { std::decay_t<decltype(o)>::Fields(o, fill); }, op.body);
  return op;
}

absl::Status RunDecodedOps(absl::Span<const uint8_t> data, size_t max_ops, std::string* log,
                           bool echo) {
  ByteReader in(data);
  const sim::LabConfig config = DecodeLabConfig(in);
  absl::StatusOr<std::unique_ptr<sim::Lab>> created = sim::Lab::Create(config);
  if (!created.ok()) return created.status();
  sim::Lab& lab = **created;
  LiveObjects live;
  std::vector<sim::DmaAddr> dma_addrs;
  // Half the inputs start from a NIC already bound with pages handed out and two skbs built on
  // them, so that the skb and teardown paths are a few ops away instead of eight; the other
  // half start from nothing.
  std::vector<sim::Op> setup;
  if (const uint8_t b = in.Byte(); b & 1) {
    const std::span<const sim::StrategyInfo> strategies = sim::StrategyRegistry();
    setup.push_back({{}, sim::op::AddDevice{}});
    setup.push_back({{}, sim::op::BindDriver{.device = 1,
                                            .strategy = std::string(
                                                strategies[(b >> 1) % strategies.size()].name)}});
    setup.push_back({{sim::CtxKind::kSoftirq, 0},
                     sim::op::PagePoolAllocPages{.pool = 1, .count = 16}});
  }
  for (size_t i = 0; i < setup.size(); ++i) {
    absl::StatusOr<sim::OpResult> r = lab.Apply(setup[i]);
    // A profile on which the strategy cannot run refuses the bind; the input goes on without it.
    if (!r.ok()) break;
    if (log != nullptr) absl::StrAppend(log, "setup: ", sim::OpToString(setup[i]), "\n");
    for (const sim::PageRef& p : r->pages) {
      if (p.dma_addr != 0) dma_addrs.push_back(p.dma_addr);
    }
    live.Observe(lab, *r);
    // Then the driver's RX path builds two recycle-marked skbs on those pages, as a NIC hands
    // GRO its packets: one with a page head and two frags, one with a single 1-byte frag at the
    // page's last byte. The merge, clone and split paths start one op away.
    if (i + 1 == setup.size() && r->pages.size() >= 4) {
      const std::vector<sim::PageRef>& pg = r->pages;
      setup.push_back({{sim::CtxKind::kSoftirq, 0},
                       sim::op::SkbBuild{.frags = {{.page = pg[1].page},
                                                   {.page = pg[2].page, .offset = 2048}},
                                         .head = pg[0].page}});
      setup.push_back(
          {{sim::CtxKind::kSoftirq, 0},
           sim::op::SkbBuild{.frags = {{.page = pg[3].page, .offset = 4095, .len = 1}}}});
    }
  }
  for (size_t i = 0; i < max_ops && !in.empty(); ++i) {
    const sim::Op op = DecodeOp(in, live, config, &dma_addrs);
    const std::string text = sim::OpToString(op);
    if (log != nullptr) absl::StrAppend(log, "#", i, " ", text, "\n");
    if (echo) std::fprintf(stderr, "#%zu %s\n", i, text.c_str());
    const uint64_t digest = lab.digest();
    const size_t applied = lab.trace().size();
    absl::StatusOr<sim::OpResult> r = lab.Apply(op);
    if (!r.ok()) {
      if (r.status().message().empty()) {
        return absl::InternalError(absl::StrCat("op ", i, " (", text, ") rejected without a reason"));
      }
      if (lab.digest() != digest || lab.trace().size() != applied) {
        return absl::InternalError(absl::StrCat("op ", i, " (", text, ") was rejected (",
                                                r.status().message(), ") but changed the lab"));
      }
      continue;
    }
    if (absl::Status s = sim::CheckInvariants(sim::LabTestPeer::machine(lab)); !s.ok()) {
      return absl::InternalError(absl::StrCat(s.message(), " after op ", i, " (", text, ")"));
    }
    for (const sim::PageRef& p : r->pages) {
      if (p.dma_addr != 0) dma_addrs.push_back(p.dma_addr);
    }
    if (dma_addrs.size() > 256) dma_addrs.erase(dma_addrs.begin(), dma_addrs.begin() + 64);
    live.Observe(lab, *r);
  }
  return absl::OkStatus();
}

}  // namespace ppsim::testing
