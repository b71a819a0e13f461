#include "client/oracle/generate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/oracle/generate_skb.h"
#include "client/oracle/index_map.h"
#include "server/sim/prng.h"

namespace ppsim::oracle {

const std::vector<GenKindInfo>& GenKinds() {
  // In GenKind order. Mostly the RX fast path of a pool on an enabled NAPI (alloc and direct
  // recycling inside its poll) and the slow returns, now and then a change of the NAPI, the
  // pool or the netdev under the pages in flight. The *_napi_enabled kinds and the direct
  // returns outside the poll are driver bugs the kernel tolerates: rare.
  static const std::vector<GenKindInfo> kKinds = {
      {"netdev_register", "netdev_register", 3},
      {"napi_add", "napi_add on a registered netdev without one", 3},
      {"napi_enable", "napi_enable", 4},
      {"napi_disable", "napi_disable", 2},
      {"netdev_unregister", "netdev_unregister of a netdev whose NAPI is not enabled", 1},
      {"add_device", "add_device (a platform device for PP_FLAG_DMA_MAP pools)", 2},
      {"create", "page_pool_create: order 0, pool_size 16..256, nid -1/0/1, flags 0 or 1 "
                 "(with a device), NAPI, netdev or lo optional", 5},
      {"destroy", "page_pool_destroy of a live pool whose NAPI is absent or disabled", 1},
      {"destroy_napi_enabled", "page_pool_destroy of a pool whose NAPI is enabled", 0.15},
      {"alloc", "page_pool_alloc_pages count 1..70 (@bh)", 14},
      {"alloc_napi", "page_pool_alloc_pages in the pool's NAPI poll (@napi)", 8},
      {"put", "page_pool_put_page allow_direct=false (@process), sometimes with "
              "dma_sync_size", 8},
      {"put_bh", "page_pool_put_page allow_direct=false @bh", 5},
      {"put_napi", "page_pool_put_page allow_direct=false @napi", 5},
      {"put_direct_napi", "page_pool_put_page allow_direct=true @napi (a live pool)", 10},
      {"put_direct_bh", "page_pool_put_page allow_direct=true @bh (a live pool)", 1},
      {"put_direct_process", "page_pool_put_page allow_direct=true @process (a live pool)", 0.5},
      {"bulk", "page_pool_put_page_bulk of 1..16 pages of one pool (@bh)", 4},
      {"bulk_napi", "page_pool_put_page_bulk @napi", 2},
      {"update_nid", "page_pool_update_nid nid -1/0/1 (@bh, or @napi)", 1.5},
      {"disable_direct", "page_pool_disable_direct_recycling, NAPI absent or disabled "
                         "(-EOPNOTSUPP before 6.9)", 1},
      {"disable_direct_napi_enabled", "page_pool_disable_direct_recycling, NAPI enabled", 0.15},
      {"get_page", "get_page of a page the sequence references (at most 3 extra)", 3},
      {"put_page", "put_page of a get_page reference (never force)", 3},
      {"observe", "observe", 2},
      {"advance_time", "advance_time of 100..300 ms or 1.3..1.5 s, once, in --sleep-share of "
                       "the sequences", 0},
      // skbs: about a third of the ops once pages are out. Frees keep up with builds.
      {"skb_build", "skb_build of 1..17 owned pages (whole, halves, quarters, eighths), a page "
                    "head in one in four, marked for recycle (@bh: napi_build_skb)", 6},
      {"skb_build_napi", "skb_build @napi (its first page's pool on an enabled NAPI)", 3},
      {"skb_build_process", "skb_build @process (build_skb)", 1},
      {"skb_clone", "skb_clone of a live skb without a frag_list", 2},
      {"pskb_expand_head", "pskb_expand_head of a live skb without a frag_list (cloned or not)",
       1.5},
      {"skb_split", "skb_split: a pp skb inside its last frag, an unmarked one anywhere", 1.5},
      {"skb_shift", "skb_shift between two uncloned skbs of one pp_recycle: whole frags and a "
                    "part of the next", 1.5},
      {"skb_try_coalesce", "skb_try_coalesce, then kfree_skb of from (any pp_recycle mix)", 2},
      {"skb_gro_receive", "skb_gro_receive of an uncloned skb with frags into an uncloned p "
                          "(@bh, or @napi), merging or chaining", 2.5},
      {"skb_segment", "skb_segment of an skb whose frags have one size (never a GRO p)", 1.5},
      {"skb_frag_ref", "skb_frag_ref of a live or held skb's frag (at most 3 extra references "
                       "per page; put_page gives them back)", 1.5},
      {"kfree_skb", "kfree_skb (@process)", 5},
      {"napi_consume_skb", "napi_consume_skb @napi, every page's pool live, the first's NAPI "
                           "enabled", 4},
      {"skb_attempt_defer_free", "skb_attempt_defer_free (one CPU: freed at once)", 1},
      {"stack_hold", "stack_hold (the socket queue)", 1.5},
      {"stack_release", "stack_release of 1..all held skbs (FIFO)", 1.5},
  };
  return kKinds;
}

namespace {

// Within the module's tables (tests/oracle/kmod/ppo.h: 8 netdevs, 16 NAPIs, 8 devices, 16
// pools, 4096 pages), and fewer: a sequence of 50..200 ops exercises a few objects deeply
// rather than many once.
constexpr int kMaxNetdevs = 3;
constexpr int kMaxNapis = 3;
constexpr int kMaxDevices = 2;
constexpr int kMaxPools = 16;
constexpr int kMaxLivePools = 4;
constexpr int kMaxPages = 4096;
// Pages held at once: `observe` and `page_pool_destroy` report every held page (the module
// touches at most 1024, and the observation crosses a serial port).
constexpr int kMaxHeld = 192;
constexpr int kMaxBulk = 16;
constexpr int kMaxExtraRefs = 3;
// skbs: the module's table holds 512 a sequence (ppo.h PPO_MAX_SKBS); `observe` reports every
// skb not freed.
constexpr int kMaxSkbs = 200;
constexpr int kMaxLiveSkbs = 24;

bool DefaultWeights(const GenerateOptions& o) {
  for (const auto& [name, w] : o.weights) {
    for (const GenKindInfo& k : GenKinds()) {
      if (k.name == name && k.default_weight != w) return false;
    }
  }
  return true;
}

std::string OptionFlags(const GenerateOptions& o) {
  const GenerateOptions d;
  std::string s;
  if (o.min_ops != d.min_ops) absl::StrAppend(&s, " --min-ops ", o.min_ops);
  if (o.max_ops != d.max_ops) absl::StrAppend(&s, " --max-ops ", o.max_ops);
  if (o.sleep_share != d.sleep_share) absl::StrAppend(&s, " --sleep-share ", o.sleep_share);
  if (!DefaultWeights(o)) {
    std::vector<std::string> items;
    for (const auto& [name, w] : o.weights) items.push_back(absl::StrCat(name, "=", w));
    absl::StrAppend(&s, " --weights ", absl::StrJoin(items, ","));
  }
  return s;
}

class Generator {
 public:
  Generator(uint64_t seed, const GenerateOptions& o) : o_(o), rng_(seed) {
    out_.seed = seed;
    out_.name = GeneratedName(seed);
    out_.options = OptionFlags(o);
    const std::vector<GenKindInfo>& kinds = GenKinds();
    for (int i = 0; i < kGenKindCount; ++i) {
      double w = kinds[i].default_weight;
      if (auto it = o.weights.find(std::string(kinds[i].name)); it != o.weights.end()) {
        w = it->second;
      }
      weights_[i] = w <= 0 ? 0 : std::max<uint64_t>(1, std::llround(w * 1000));
    }
  }

  GeneratedSequence Run() {
    const int target =
        o_.min_ops + static_cast<int>(rng_.Uniform(o_.max_ops - o_.min_ops + 1));
    target_ = target;
    int sleep_at = -1;
    if (rng_.Bernoulli(o_.sleep_share) && target >= 2) {
      sleep_at = target / 4 + static_cast<int>(rng_.Uniform(target - target / 4));
    }
    // Most sequences start as a driver's probe does: a netdev with its NAPI, enabled in two of
    // three (ndo_open), so that the pools created next can be bound to it.
    if (rng_.Uniform(4) != 0 && target >= 3 && Weighted(GenKind::kNetdevRegister) &&
        Weighted(GenKind::kNapiAdd)) {
      Emit(GenKind::kNetdevRegister, 0);
      Emit(GenKind::kNapiAdd, 1);
      if (rng_.Uniform(3) != 0) Emit(GenKind::kNapiEnable, 1);
    }
    while (static_cast<int>(out_.lines.size()) < target) {
      if (static_cast<int>(out_.lines.size()) == sleep_at) {
        Line(GenKind::kAdvanceTime, absl::StrCat("advance_time ns=", SleepMs(), "ms"));
        continue;
      }
      if (!Step()) break;  // nothing the weights allow is possible
    }
    return std::move(out_);
  }

 private:
  // One weighted draw among the kinds that are possible now, and its op(s).
  bool Step() {
    uint64_t total = 0;
    std::array<std::vector<int>, kGenKindCount> subjects;
    for (int k = 0; k < kGenKindCount; ++k) {
      if (!Weighted(static_cast<GenKind>(k))) continue;
      subjects[k] = Subjects(static_cast<GenKind>(k));
      if (!subjects[k].empty()) total += weights_[k];
    }
    if (total == 0) return false;
    uint64_t r = rng_.Uniform(total);
    for (int k = 0; k < kGenKindCount; ++k) {
      if (weights_[k] == 0 || subjects[k].empty()) continue;
      if (r < weights_[k]) {
        Emit(static_cast<GenKind>(k), Pick(subjects[k]));
        return true;
      }
      r -= weights_[k];
    }
    return false;
  }

  // What kind `k` may act on now (netdev, NAPI, pool or page indices; {0} for a kind that
  // acts on nothing); empty when `k` is not possible.
  std::vector<int> Subjects(GenKind k) {
    using K = GenKind;
    switch (k) {
      case K::kNetdevRegister:
        return Unit(map_.netdevs() < kMaxNetdevs);
      case K::kNapiAdd:
        return Netdevs([&](const NetdevEntry& n) {
          return n.registered && n.napis.empty() && map_.napis() < kMaxNapis;
        });
      case K::kNapiEnable:
        return Napis([](const NapiEntry& n) { return n.added && !n.enabled; });
      case K::kNapiDisable:
        return Napis([](const NapiEntry& n) { return n.enabled; });
      case K::kNetdevUnregister:
        return Netdevs([&](const NetdevEntry& n) { return n.registered && !NapiOn(n); });
      case K::kAddDevice:
        return Unit(devices_ < kMaxDevices);
      case K::kCreate:
        return Unit(map_.pools() < kMaxPools && LivePools() < kMaxLivePools);
      case K::kDestroy:
      case K::kDisableDirect:
        return Pools([&](const PoolEntry& p) { return p.live && !NapiOn(p); });
      case K::kDestroyNapiEnabled:
      case K::kDisableDirectNapiEnabled:
        return Pools([&](const PoolEntry& p) { return p.live && NapiOn(p); });
      case K::kAlloc:
      case K::kAllocNapi:
        if (HeldAndInSkbs() >= kMaxHeld || map_.pages() >= kMaxPages) return {};
        return Pools([&](const PoolEntry& p) {
          return p.live && (k == K::kAlloc || NapiOn(p));
        });
      case K::kPut:
      case K::kPutBh:
        return Held([](const PageEntry& g, const PoolEntry&) { return g.owned; });
      case K::kPutNapi:
        return Held([&](const PageEntry& g, const PoolEntry& p) { return g.owned && NapiOn(p); });
      case K::kPutDirectNapi:
        return Held([&](const PageEntry& g, const PoolEntry& p) {
          return g.owned && p.live && NapiOn(p);
        });
      case K::kPutDirectBh:
      case K::kPutDirectProcess:
        return Held([](const PageEntry& g, const PoolEntry& p) { return g.owned && p.live; });
      case K::kBulk:
      case K::kBulkNapi: {
        std::vector<int> pools;
        for (int page : Held([&](const PageEntry& g, const PoolEntry& p) {
               return g.owned && (k == K::kBulk || NapiOn(p));
             })) {
          const int pool = map_.page(page).pool;
          if (std::find(pools.begin(), pools.end(), pool) == pools.end()) pools.push_back(pool);
        }
        std::sort(pools.begin(), pools.end());
        return pools;
      }
      case K::kUpdateNid:
        return Pools([](const PoolEntry& p) { return p.live; });
      case K::kGetPage:
        return Held([](const PageEntry& g, const PoolEntry&) {
          return g.extra_refs < kMaxExtraRefs;
        });
      case K::kPutPage:
        return Held([](const PageEntry& g, const PoolEntry&) { return g.extra_refs > 0; });
      case K::kObserve:
        return {0};
      case K::kAdvanceTime:
        return {};
      case K::kSkbBuild: case K::kSkbBuildNapi: case K::kSkbBuildProcess: case K::kSkbClone:
      case K::kSkbExpandHead: case K::kSkbSplit: case K::kSkbShift: case K::kSkbCoalesce:
      case K::kSkbGro: case K::kSkbSegment: case K::kSkbFragRef: case K::kKfreeSkb:
      case K::kNapiConsumeSkb: case K::kSkbDeferFree: case K::kStackHold: case K::kStackRelease:
        return SkbSubjects(k);
    }
    return {};
  }

  void Emit(GenKind k, int subject) {
    using K = GenKind;
    switch (k) {
      case K::kNetdevRegister:
        map_.AddNetdev({});
        return Line(k, "netdev_register");
      case K::kNapiAdd: {
        const int napi = map_.AddNapi({.netdev = subject});
        map_.Netdev(subject).value()->napis.push_back(napi);
        return Line(k, absl::StrCat("napi_add netdev=", subject));
      }
      case K::kNapiEnable:
      case K::kNapiDisable:
        map_.Napi(subject).value()->enabled = k == K::kNapiEnable;
        return Line(k, absl::StrCat(k == K::kNapiEnable ? "napi_enable" : "napi_disable",
                                    " napi=", subject));
      case K::kNetdevUnregister: {
        NetdevEntry* nd = map_.Netdev(subject).value();
        nd->registered = false;
        for (int napi : nd->napis) map_.Napi(napi).value()->added = false;  // free_netdev
        return Line(k, absl::StrCat("netdev_unregister netdev=", subject));
      }
      case K::kAddDevice:
        map_.AddDevice(0);
        ++devices_;
        return Line(k, "add_device");
      case K::kCreate:
        return Create();
      case K::kDestroy:
      case K::kDestroyNapiEnabled:
        map_.Pool(subject).value()->live = false;
        return Line(k, absl::StrCat("page_pool_destroy pool=", subject));
      case K::kAlloc:
      case K::kAllocNapi:
        return Alloc(k, subject);
      case K::kPut:
      case K::kPutBh:
      case K::kPutNapi:
      case K::kPutDirectNapi:
      case K::kPutDirectBh:
      case K::kPutDirectProcess:
        return Put(k, subject);
      case K::kBulk:
      case K::kBulkNapi:
        return Bulk(k, subject);
      case K::kUpdateNid: {
        const bool in_napi = NapiOn(map_.pool(subject)) && rng_.Uniform(3) == 0;
        return Line(k, absl::StrCat("page_pool_update_nid pool=", subject, " nid=", Nid(),
                                    in_napi ? " @napi" : ""));
      }
      case K::kDisableDirect:
      case K::kDisableDirectNapiEnabled:
        return Line(k, absl::StrCat("page_pool_disable_direct_recycling pool=", subject));
      case K::kGetPage:
        ++map_.Page(subject).value()->extra_refs;
        return Line(k, absl::StrCat("get_page page=", subject));
      case K::kPutPage:
        --map_.Page(subject).value()->extra_refs;
        Unhold(subject);
        return Line(k, absl::StrCat("put_page page=", subject));
      case K::kObserve:
        return Line(k, "observe");
      case K::kAdvanceTime:
        return;
      case K::kSkbBuild: case K::kSkbBuildNapi: case K::kSkbBuildProcess: case K::kSkbClone:
      case K::kSkbExpandHead: case K::kSkbSplit: case K::kSkbShift: case K::kSkbCoalesce:
      case K::kSkbGro: case K::kSkbSegment: case K::kSkbFragRef: case K::kKfreeSkb:
      case K::kNapiConsumeSkb: case K::kSkbDeferFree: case K::kStackHold: case K::kStackRelease:
        return EmitSkb(k, subject);
    }
  }

  // A driver's pool: on a platform device when it maps (PP_FLAG_DMA_MAP needs one), bound to
  // one of the sequence's NAPIs and usually to that NAPI's netdev, or to another netdev or lo.
  void Create() {
    std::string line = "page_pool_create";
    uint32_t flags = 0;
    if (devices_ > 0 && rng_.Uniform(2) == 0) {
      absl::StrAppend(&line, " device=", 1 + rng_.Uniform(devices_));
      if (rng_.Uniform(4) != 0) flags = 1;  // PP_FLAG_DMA_MAP
    }
    if (flags != 0) absl::StrAppend(&line, " flags=", flags);
    static constexpr int kSizes[] = {16, 32, 64, 128, 256};
    absl::StrAppend(&line, " pool_size=", kSizes[rng_.Uniform(5)]);
    if (const int nid = Nid(); nid != -1) absl::StrAppend(&line, " nid=", nid);
    int napi = 0, netdev = 0;
    const std::vector<int> napis = Napis([](const NapiEntry& n) { return n.added; });
    if (!napis.empty() && rng_.Uniform(3) != 0) {
      napi = Pick(napis);
      absl::StrAppend(&line, " napi=", napi);
      if (rng_.Uniform(4) != 0) netdev = map_.Napi(napi).value()->netdev;
    } else {
      const std::vector<int> nds = Netdevs([](const NetdevEntry& n) { return n.registered; });
      if (!nds.empty() && rng_.Uniform(3) == 0) netdev = Pick(nds);
    }
    if (netdev == 0 && rng_.Uniform(10) == 0) netdev = -1;
    if (netdev > 0) absl::StrAppend(&line, " netdev=", netdev);
    if (netdev < 0) absl::StrAppend(&line, " netdev=lo");
    map_.AddPool({.flags = flags, .napi = napi, .netdev = netdev});
    Line(GenKind::kCreate, line);
  }

  // Mostly a few pages, now and then more than the alloc cache's refill (64) holds.
  void Alloc(GenKind k, int pool) {
    int count = 1 + static_cast<int>(rng_.Uniform(4));
    const uint64_t r = rng_.Uniform(10);
    if (r >= 6) count = 5 + static_cast<int>(rng_.Uniform(12));
    if (r == 9) count = 17 + static_cast<int>(rng_.Uniform(54));
    count = std::min({count, kMaxHeld - HeldAndInSkbs(), kMaxPages - map_.pages()});
    for (int i = 0; i < count; ++i) held_.push_back(map_.AddPage({.pool = pool}));
    Line(k, absl::StrCat("page_pool_alloc_pages pool=", pool, " count=", count,
                         k == GenKind::kAllocNapi ? " @napi" : ""));
  }

  void Put(GenKind k, int page) {
    using K = GenKind;
    const bool direct = k == K::kPutDirectNapi || k == K::kPutDirectBh || k == K::kPutDirectProcess;
    std::string line = absl::StrCat("page_pool_put_page page=", page,
                                    " allow_direct=", direct ? "true" : "false");
    if (k == K::kPut && rng_.Uniform(8) == 0) {
      static constexpr int kSync[] = {0, 64, 1500, 4096};
      absl::StrAppend(&line, " dma_sync_size=", kSync[rng_.Uniform(4)]);
    }
    if (k == K::kPutBh || k == K::kPutDirectBh) absl::StrAppend(&line, " @bh");
    if (k == K::kPutNapi || k == K::kPutDirectNapi) absl::StrAppend(&line, " @napi");
    map_.Page(page).value()->owned = false;
    Unhold(page);
    Line(k, line);
  }

  // 1..16 owned pages of `pool` in random order (one pool: before 6.14 the bulk API takes one).
  void Bulk(GenKind k, int pool) {
    std::vector<int> pages =
        Held([&](const PageEntry& g, const PoolEntry&) { return g.owned && g.pool == pool; });
    const size_t n = 1 + rng_.Uniform(std::min<size_t>(kMaxBulk, pages.size()));
    for (size_t i = 0; i < n; ++i) std::swap(pages[i], pages[i + rng_.Uniform(pages.size() - i)]);
    pages.resize(n);
    for (int page : pages) {
      map_.Page(page).value()->owned = false;
      Unhold(page);
    }
    Line(k, absl::StrCat("page_pool_put_page_bulk pages=", absl::StrJoin(pages, ","),
                         k == GenKind::kBulkNapi ? " @napi" : ""));
  }

  void Line(GenKind k, std::string line) {
    out_.lines.push_back(std::move(line));
    out_.kinds.push_back(k);
  }

  // Drops `page` from the held list once the sequence references it no more.
  void Unhold(int page) {
    const PageEntry& g = map_.page(page);
    if (g.owned || g.extra_refs > 0) return;
    held_.erase(std::find(held_.begin(), held_.end(), page));
  }

  // Well clear of the release worker's first retry, 1 s after a destroy (DEFER_TIME): the
  // model's ops take no time, the kernel's about 2 ms each, and its delayed work runs up to a
  // few tens of ms late. A sleep of 1 s ended before the kernel's retry and after the model's
  // (gen-001147 of the first corpus); 300 ms or less never reaches it, 1.3 s or more always does.
  int SleepMs() {
    static constexpr int kMs[] = {100, 200, 300, 1300, 1400, 1500};
    return kMs[rng_.Uniform(6)];
  }

  bool Weighted(GenKind k) const { return weights_[static_cast<int>(k)] != 0; }

  int Nid() {
    static constexpr int kNids[] = {-1, -1, 0, 1};  // NUMA_NO_NODE, the CPU's node, node 1
    return kNids[rng_.Uniform(4)];
  }
  int Pick(const std::vector<int>& v) { return v[rng_.Uniform(v.size())]; }
  static std::vector<int> Unit(bool possible) {
    if (!possible) return {};
    return {0};
  }

  // The pool's (or netdev's) NAPI is enabled: @napi can run its poll.
  bool NapiOn(const PoolEntry& p) { return p.napi != 0 && Napi(p.napi).enabled; }
  bool NapiOn(const NetdevEntry& n) {
    return std::any_of(n.napis.begin(), n.napis.end(),
                       [&](int napi) { return Napi(napi).enabled; });
  }
  const NapiEntry& Napi(int index) { return *map_.Napi(index).value(); }
  int LivePools() {
    return static_cast<int>(Pools([](const PoolEntry& p) { return p.live; }).size());
  }

  template <class Pred>
  std::vector<int> Netdevs(Pred pred) {
    std::vector<int> out;
    for (int i = 1; i <= map_.netdevs(); ++i) {
      if (pred(*map_.Netdev(i).value())) out.push_back(i);
    }
    return out;
  }
  template <class Pred>
  std::vector<int> Napis(Pred pred) {
    std::vector<int> out;
    for (int i = 1; i <= map_.napis(); ++i) {
      if (pred(Napi(i))) out.push_back(i);
    }
    return out;
  }
  template <class Pred>
  std::vector<int> Pools(Pred pred) {
    std::vector<int> out;
    for (int i = 1; i <= map_.pools(); ++i) {
      if (pred(map_.pool(i))) out.push_back(i);
    }
    return out;
  }
  // Held pages (a pool reference or a get_page reference) for which pred(page, its pool).
  template <class Pred>
  std::vector<int> Held(Pred pred) {
    std::vector<int> out;
    for (int page : held_) {
      const PageEntry& g = map_.page(page);
      if (pred(g, map_.pool(g.pool))) out.push_back(page);
    }
    return out;
  }

  // ---- skbs ----

  // Pages the sequence holds, and the references its skbs hold (what `observe` reports).
  int HeldAndInSkbs() const { return static_cast<int>(held_.size()) + skbs_.PageCount(); }
  bool SkbRoom(int more) const {
    return skbs_.count() + more <= kMaxSkbs && skbs_.LiveCount() + more <= kMaxLiveSkbs;
  }
  bool NoList(int s) const { return skbs_.data(s).frag_list.empty(); }
  int Frags(int s) const { return static_cast<int>(skbs_.data(s).frags.size()); }
  // The pool an @napi skb op polls the NAPI of: its first frag's page's, else its head page's
  // (ppo_skb.c skb_pool).
  int SkbPool(int s) const {
    const ShadowData& d = skbs_.data(s);
    const int page = d.frags.empty() ? d.head : d.frags[0].page;
    return page == 0 ? 0 : map_.page(page).pool;
  }
  bool PoolsLive(int s) const {
    const std::vector<int> pages = skbs_.Pages(s);
    return std::all_of(pages.begin(), pages.end(),
                       [&](int p) { return map_.pool(map_.page(p).pool).live; });
  }
  template <class Pred>
  std::vector<int> Skbs(Pred pred) const {
    std::vector<int> out;
    for (int s = 1; s <= skbs_.count(); ++s) {
      if (pred(s)) out.push_back(s);
    }
    return out;
  }
  std::vector<int> Live() const {
    return Skbs([&](int s) { return skbs_.Live(s); });
  }
  std::vector<int> Owned() {
    return Held([](const PageEntry& g, const PoolEntry&) { return g.owned; });
  }
  // Partners of a two-skb op, by the rules in generate.h.
  std::vector<int> ShiftPartners(int tgt) const {
    return Skbs([&](int s) {
      return s != tgt && skbs_.Live(s) && !skbs_.Cloned(s) && NoList(s) && Frags(s) > 0 &&
             skbs_.skb(s).pp == skbs_.skb(tgt).pp;
    });
  }
  std::vector<int> CoalescePartners(int to) const {
    // Not from an skb whose truesize does not cover its len (a split's or a shift's):
    // skb_try_coalesce's WARN_ON_ONCE(delta < len) prints once a boot, so a sequence's
    // warning depends on the ones before it in that boot.
    return Skbs([&](int s) {
      return s != to && skbs_.Live(s) && NoList(s) && skbs_.skb(s).excess >= skbs_.skb(s).len;
    });
  }
  std::vector<int> GroPartners(int p) const {
    return Skbs([&](int s) {
      return s != p && skbs_.Live(s) && !skbs_.Cloned(s) && NoList(s) && Frags(s) > 0;
    });
  }
  bool OneFragSize(int s) const {
    const std::vector<ShadowFrag>& f = skbs_.data(s).frags;
    return std::all_of(f.begin(), f.end(), [&](const ShadowFrag& x) { return x.len == f[0].len; });
  }

  std::vector<int> SkbSubjects(GenKind k) {
    using K = GenKind;
    switch (k) {
      case K::kSkbBuild:
      case K::kSkbBuildProcess:
        return Unit(SkbRoom(1) && !Owned().empty());
      case K::kSkbBuildNapi: {
        if (!SkbRoom(1)) return {};
        std::vector<int> pools;
        for (int page : Owned()) {
          const int pool = map_.page(page).pool;
          if (NapiOn(map_.pool(pool)) &&
              std::find(pools.begin(), pools.end(), pool) == pools.end()) {
            pools.push_back(pool);
          }
        }
        std::sort(pools.begin(), pools.end());
        return pools;
      }
      case K::kSkbClone:
        if (!SkbRoom(1)) return {};
        return Skbs([&](int s) { return skbs_.Live(s) && NoList(s); });
      case K::kSkbExpandHead:
        return Skbs([&](int s) { return skbs_.Live(s) && NoList(s); });
      case K::kSkbSplit:
        if (!SkbRoom(1)) return {};
        return Skbs([&](int s) {
          if (!skbs_.Live(s) || skbs_.Cloned(s) || !NoList(s) || Frags(s) == 0) return false;
          return !skbs_.skb(s).pp || skbs_.data(s).frags.back().len >= 2;
        });
      case K::kSkbShift:
        return Skbs([&](int s) {
          return skbs_.Live(s) && !skbs_.Cloned(s) && NoList(s) && !ShiftPartners(s).empty();
        });
      case K::kSkbCoalesce:  // two lines: the coalesce and the free of `from`
        if (static_cast<int>(out_.lines.size()) + 2 > target_) return {};
        return Skbs([&](int s) {
          return skbs_.Live(s) && NoList(s) && !CoalescePartners(s).empty();
        });
      case K::kSkbGro:
        return Skbs([&](int s) {
          return skbs_.Live(s) && !skbs_.Cloned(s) && !GroPartners(s).empty();
        });
      case K::kSkbSegment:
        return Skbs([&](int s) {
          return skbs_.Live(s) && NoList(s) && !skbs_.skb(s).gro_p && Frags(s) > 0 &&
                 OneFragSize(s) && SkbRoom(Frags(s));
        });
      case K::kSkbFragRef:
        return Skbs([&](int s) {
          const ShadowSkb& b = skbs_.skb(s);
          if (b.state != ShadowState::kLive && b.state != ShadowState::kHeld) return false;
          for (const ShadowFrag& f : skbs_.data(s).frags) {
            if (map_.page(f.page).extra_refs < kMaxExtraRefs) return true;
          }
          return false;
        });
      case K::kKfreeSkb:
      case K::kSkbDeferFree:
      case K::kStackHold:
        return Live();
      case K::kNapiConsumeSkb:
        return Skbs([&](int s) {
          const int pool = skbs_.Live(s) ? SkbPool(s) : 0;
          return pool != 0 && map_.pool(pool).live && NapiOn(map_.pool(pool)) && PoolsLive(s);
        });
      case K::kStackRelease:
        return Unit(skbs_.held() > 0);
      default:
        return {};
    }
  }

  void EmitSkb(GenKind k, int s) {
    using K = GenKind;
    switch (k) {
      case K::kSkbBuild:
      case K::kSkbBuildNapi:
      case K::kSkbBuildProcess:
        return SkbBuild(k, k == K::kSkbBuildNapi ? s : 0);
      case K::kSkbClone:
        skbs_.Clone(s);
        return Line(k, absl::StrCat("skb_clone skb=", s));
      case K::kSkbExpandHead:
        skbs_.ExpandHead(s);
        return Line(k, absl::StrCat("pskb_expand_head skb=", s));
      case K::kSkbSplit: {
        const std::vector<ShadowFrag>& f = skbs_.data(s).frags;
        int at = static_cast<int>(f.size()) - 1, cut = 0;
        if (!skbs_.skb(s).pp) at = static_cast<int>(rng_.Uniform(f.size()));
        if (skbs_.skb(s).pp || (f[at].len >= 2 && rng_.Uniform(2) == 0)) cut = CutIn(f[at].len);
        skbs_.Split(s, at, cut);
        return Line(k, absl::StrCat("skb_split skb=", s, " at=", at,
                                    cut != 0 ? absl::StrCat(" cut=", cut) : ""));
      }
      case K::kSkbShift: {
        const int from = Pick(ShiftPartners(s));
        const std::vector<ShadowFrag>& f = skbs_.data(from).frags;
        int count = static_cast<int>(rng_.Uniform(f.size() + 1)), partial = 0;
        if (count < static_cast<int>(f.size()) && f[count].len >= 2 &&
            (count == 0 || rng_.Uniform(2) == 0)) {
          partial = CutIn(f[count].len);
        }
        if (count == 0 && partial == 0) count = 1;
        skbs_.Shift(s, from, count, partial);
        return Line(k, absl::StrCat("skb_shift tgt=", s, " skb=", from, " count=", count,
                                    partial != 0 ? absl::StrCat(" partial=", partial) : ""));
      }
      case K::kSkbCoalesce: {
        const int from = Pick(CoalescePartners(s));
        skbs_.Coalesce(s, from);
        Line(k, absl::StrCat("skb_try_coalesce to=", s, " from=", from));
        skbs_.Free(from);  // tcp_try_coalesce's caller: kfree_skb_partial
        return Line(k, absl::StrCat("kfree_skb skb=", from));
      }
      case K::kSkbGro: {
        const int skb = Pick(GroPartners(s));
        const int pool = SkbPool(s);
        const bool napi = pool != 0 && NapiOn(map_.pool(pool)) && rng_.Uniform(2) == 0;
        skbs_.Gro(s, skb);
        return Line(k, absl::StrCat("skb_gro_receive p=", s, " skb=", skb, napi ? " @napi" : ""));
      }
      case K::kSkbSegment:
        skbs_.Segment(s);
        return Line(k, absl::StrCat("skb_segment skb=", s));
      case K::kSkbFragRef: {
        std::vector<int> frags;
        const std::vector<ShadowFrag>& f = skbs_.data(s).frags;
        for (size_t i = 0; i < f.size(); ++i) {
          if (map_.page(f[i].page).extra_refs < kMaxExtraRefs) frags.push_back(static_cast<int>(i));
        }
        const int frag = Pick(frags);
        const int page = f[frag].page;
        PageEntry* g = map_.Page(page).value();
        if (g->extra_refs++ == 0 && !g->owned) held_.push_back(page);  // put_page names it
        return Line(k, absl::StrCat("skb_frag_ref skb=", s, " frag=", frag));
      }
      case K::kKfreeSkb:
      case K::kNapiConsumeSkb:
      case K::kSkbDeferFree: {
        skbs_.Free(s);
        const char* op = k == K::kKfreeSkb         ? "kfree_skb"
                         : k == K::kNapiConsumeSkb ? "napi_consume_skb"
                                                   : "skb_attempt_defer_free";
        return Line(k, absl::StrCat(op, " skb=", s));
      }
      case K::kStackHold:
        skbs_.Hold(s);
        return Line(k, absl::StrCat("stack_hold skb=", s));
      case K::kStackRelease: {
        const int n = rng_.Uniform(2) == 0 ? 0 : 1 + static_cast<int>(rng_.Uniform(skbs_.held()));
        skbs_.Release(n);
        return Line(k, n == 0 ? std::string("stack_release") : absl::StrCat("stack_release count=", n));
      }
      default:
        return;
    }
  }

  // A cut strictly inside a frag of `len` bytes: a multiple of 64 where it can be.
  int CutIn(int len) {
    if (len >= 128) return 64 * (1 + static_cast<int>(rng_.Uniform(len / 64 - 1)));
    return 1 + static_cast<int>(rng_.Uniform(len - 1));
  }

  // skb_build on owned pages: 1..2 frags mostly, now and then 3..6 or 7..17, a page head in one
  // in four (alone in one in twenty), each frag a whole page, a half, a quarter or an eighth at
  // an aligned offset (one size per skb in four of five, so that skb_segment can take it). @napi:
  // the first frag is a page of `napi_pool`, whose NAPI's poll the module runs the build in.
  void SkbBuild(GenKind k, int napi_pool) {
    std::vector<int> owned = Owned();
    const uint64_t r = rng_.Uniform(10);
    int n = r < 6 ? 1 + static_cast<int>(rng_.Uniform(2))
            : r < 9 ? 3 + static_cast<int>(rng_.Uniform(4))
                    : 7 + static_cast<int>(rng_.Uniform(11));
    bool head = rng_.Uniform(4) == 0;
    if (napi_pool == 0 && rng_.Uniform(20) == 0) {
      n = 0;
      head = true;
    }
    std::vector<int> pages;
    if (napi_pool != 0) {
      std::vector<int> mine;
      for (int p : owned) {
        if (map_.page(p).pool == napi_pool) mine.push_back(p);
      }
      pages.push_back(Pick(mine));
      owned.erase(std::find(owned.begin(), owned.end(), pages[0]));
      n = std::max(n, 1);
    }
    const int avail = static_cast<int>(owned.size() + pages.size());
    if (n + (head ? 1 : 0) > avail) {
      if (head && avail >= 2) {
        n = avail - 1;
      } else {
        head = n == 0;
        n = head ? 0 : avail;
      }
    }
    int head_page = 0;
    if (head) head_page = Take(owned);
    while (static_cast<int>(pages.size()) < n) pages.push_back(Take(owned));
    static constexpr int kLens[] = {4096, 2048, 1024, 512};
    const bool mixed = rng_.Uniform(5) == 0;
    int len = kLens[rng_.Uniform(4)];
    std::vector<ShadowFrag> frags;
    std::vector<std::string> spec;
    for (int p : pages) {
      if (mixed) len = kLens[rng_.Uniform(4)];
      const int off = len * static_cast<int>(rng_.Uniform(4096 / len));
      frags.push_back({p, off, len});
      spec.push_back(len == 4096 ? absl::StrCat(p) : absl::StrCat(p, "+", off, ":", len));
    }
    std::string line = "skb_build";
    if (head_page != 0) absl::StrAppend(&line, " head=", head_page);
    if (!spec.empty()) absl::StrAppend(&line, " frags=", absl::StrJoin(spec, ","));
    if (k == GenKind::kSkbBuildNapi) absl::StrAppend(&line, " @napi");
    if (k == GenKind::kSkbBuildProcess) absl::StrAppend(&line, " @process");
    skbs_.Build(frags, head_page, /*pp=*/true);
    if (head_page != 0) pages.push_back(head_page);
    for (int p : pages) {  // the pool references move into the skb
      map_.Page(p).value()->owned = false;
      Unhold(p);
    }
    Line(k, line);
  }

  int Take(std::vector<int>& v) {
    const size_t i = rng_.Uniform(v.size());
    const int x = v[i];
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    return x;
  }

  const GenerateOptions& o_;
  sim::Prng rng_;
  std::array<uint64_t, kGenKindCount> weights_{};
  IndexMap map_;
  int devices_ = 0;
  std::vector<int> held_;  // in the order they were allocated (or referenced again)
  SkbShadow skbs_;
  int target_ = 0;
  GeneratedSequence out_;
};

}  // namespace

absl::Status ValidateGenerateOptions(const GenerateOptions& o) {
  if (o.min_ops < 1 || o.max_ops > 1000 || o.min_ops > o.max_ops) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ops: ", o.min_ops, "..", o.max_ops, " (1 <= min <= max <= 1000 ops per sequence)"));
  }
  if (!(o.sleep_share >= 0 && o.sleep_share <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("sleep-share: ", o.sleep_share,
                                                   " is not a share in 0..1"));
  }
  // advance_time is not drawn by weight (sleep_share)
  std::vector<absl::string_view> names;
  bool any = false;
  for (int i = 0; i < kGenKindCount; ++i) {
    if (static_cast<GenKind>(i) == GenKind::kAdvanceTime) continue;
    const GenKindInfo& k = GenKinds()[i];
    names.push_back(k.name);
    auto it = o.weights.find(std::string(k.name));
    any = any || (it == o.weights.end() ? k.default_weight : it->second) > 0;
  }
  for (const auto& [name, w] : o.weights) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat("weights: unknown kind \"", name,
                                                     "\" (kinds: ", absl::StrJoin(names, ", "),
                                                     ")"));
    }
    if (!std::isfinite(w) || w < 0 || w > 1e9) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights: ", name, "=", w, " must be a number in 0..1e9"));
    }
  }
  if (!any) return absl::InvalidArgumentError("weights: every weight is 0");
  return absl::OkStatus();
}

absl::Status ParseGenWeights(absl::string_view text, GenerateOptions& o) {
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
    double w = 0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(kv.second), &w)) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights: \"", item, "\" is not KIND=WEIGHT"));
    }
    o.weights[std::string(absl::StripAsciiWhitespace(kv.first))] = w;
  }
  return absl::OkStatus();
}

std::string GeneratedName(uint64_t seed) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "gen-%06llu", static_cast<unsigned long long>(seed));
  return buf;
}

std::string GeneratedSequence::Text() const {
  std::string s = absl::StrCat("# ", name, ": ppctl oracle-gen --seed ", seed, " --count 1",
                               options, " (", lines.size(), " ops; tests/oracle/README.md, "
                               "\"The generated corpus\")\n");
  for (const std::string& l : lines) absl::StrAppend(&s, l, "\n");
  return s;
}

GeneratedSequence GenerateSequence(uint64_t seed, const GenerateOptions& o) {
  return Generator(seed, o).Run();
}

}  // namespace ppsim::oracle
