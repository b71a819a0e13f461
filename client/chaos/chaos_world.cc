// File: client/chaos/chaos_world.cc
// The generator's world model and one emitter per op kind (generator.h says what the
// generator never does and why). Caps keep the world small so a long run stays fast.
#include "client/chaos/chaos_world.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ppsim::chaos {

namespace {

constexpr size_t kMaxDriverPages = 48;  // per pool: an RX ring's worth
constexpr size_t kMaxSkbs = 192;
constexpr size_t kMaxExtras = 48;
constexpr size_t kMaxReaders = 8;
constexpr uint32_t kPageBytes = 4096;  // the generator's pools are order 0
constexpr const char* kHolders[] = {"socket", "defrag", "defer_free", "qdisc", "retransmit"};
constexpr int kHolderCount = 5;
constexpr int kDeferFree = 2;  // index of defer_free in kHolders

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

template <class Map, class Pred>
std::vector<int> Ids(const Map& m, Pred pred) {
  std::vector<int> out;
  for (const auto& [id, v] : m) {
    if (pred(v)) out.push_back(id);
  }
  return out;
}

}  // namespace

ChaosPrng::ChaosPrng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = SplitMix(x);
}

uint64_t ChaosPrng::Next() {  // xoshiro256**
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t ChaosPrng::Uniform(uint64_t bound) {
  if (bound == 0) return 0;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
}

ChaosWorld::ChaosWorld(const ChaosSpec& spec, uint64_t seed, const GeneratorOptions& options)
    : options_(options), loc_(spec.loc), rng_(seed) {
  for (const KindRow& row : Kinds()) {
    double w = row.kind.default_weight;
    if (!spec.weights.empty()) {
      auto it = spec.weights.find(std::string(row.kind.name));
      w = it == spec.weights.end() ? 0.0 : it->second;
    }
    // Integer milli-units: the draw is exact arithmetic on every platform.
    weights_.push_back(
        w <= 0 ? 0 : std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(w * 1000))));
  }
  for (const auto& fault : spec.faults) {
    std::string line = "set_fault";
    for (const auto& [key, value] : fault) {
      const bool quote = value.find_first_of(" \t") != std::string::npos;
      absl::StrAppend(&line, " ", key, "=", quote ? "\"" : "", value, quote ? "\"" : "");
      if (key == "site" && value == "surprise_remove") surprise_fault_ = true;
    }
    fault_lines_.push_back(line);
  }
  held_.assign(kHolderCount * options_.cpus, 0);
}

// ---- steps ---------------------------------------------------------------------------------

std::string ChaosWorld::Line(const std::string& text, bool bind, Pending p, bool counted) {
  const std::string name = absl::StrCat("s", next_step_++);
  Step s{.op_line = text, .repeat = 1, .as = bind ? name : "", .loc = loc_};
  queue_.push_back(std::move(s));
  if (bind) pending_[name] = std::move(p);
  if (counted && stage_ == 2 && !draining_) ++chaos_steps_;
  return name;
}

void ChaosWorld::Push(const std::string& text, bool counted) {
  (void)Line(text, false, Pending(), counted);
}

std::string ChaosWorld::Ctx(int cpu) const {
  return cpu < 0 ? "@process:0" : absl::StrCat("@softirq:", cpu);
}

std::vector<Step> ChaosWorld::Next(size_t max, uint64_t budget) {
  if (stage_ == 0) {
    for (const std::string& f : fault_lines_) Push(f);
    for (size_t i = 0; i < options_.devices; ++i) EmitRebind();
    stage_ = 1;
  } else if (stage_ == 1) {
    for (size_t i = 0; i < options_.devices; ++i) EmitRebind();  // binds the added devices
    stage_ = 2;
  } else if (draining_) {
    // Drain() queued everything already.
  } else {
    const std::vector<KindRow>& kinds = Kinds();
    std::vector<uint64_t> w(kinds.size());
    const uint64_t start = chaos_steps_;
    while (queue_.size() < max && chaos_steps_ - start < budget) {
      auto weigh = [&] {
        uint64_t total = 0;
        for (size_t i = 0; i < kinds.size(); ++i) {
          w[i] = weights_[i] != 0 && kinds[i].can(*this) ? weights_[i] : 0;
          total += w[i];
        }
        return total;
      };
      uint64_t total = weigh();
      if (total == 0) {
        relax_caps_ = true;  // e.g. only `alloc` weighted: allocate past the ring size
        total = weigh();
      }
      if (total == 0) {
        relax_caps_ = false;
        break;  // nothing the weights allow is possible
      }
      uint64_t r = Draw(total);
      size_t k = 0;
      while (r >= w[k]) r -= w[k++];
      kinds[k].emit(*this);
      relax_caps_ = false;
    }
  }
  std::vector<Step> out;
  while (!queue_.empty() && out.size() < std::max<size_t>(max, 1)) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

// ---- model queries -------------------------------------------------------------------------

bool ChaosWorld::Cloned(const Skb& s) const {
  const Group& g = groups_.at(s.group);
  return g.members > 1 || g.outside;
}

int ChaosWorld::CountBound() const {
  int n = 0;
  for (const auto& [id, d] : devices_) {
    n += d.state == DevState::kBound || d.state == DevState::kBinding ||
         d.state == DevState::kPending || d.state == DevState::kPresent;
  }
  return n;
}

bool ChaosWorld::DeviceQuiet(const Device& d) const {
  for (int p : d.pools) {
    if (pools_.at(p).pending != 0) return false;
  }
  return true;
}

std::vector<int> ChaosWorld::SkbIds(SkbNeed need) const {
  return Ids(skbs_, [&](const Skb& s) {
    if (s.busy) return false;
    const Group& g = groups_.at(s.group);
    switch (need) {
      case SkbNeed::kAny: return true;
      case SkbNeed::kUncloned: return !Cloned(s);
      case SkbNeed::kFrags: return g.known && !g.frags.empty();
      case SkbNeed::kSplit: return !Cloned(s) && g.known && !g.frags.empty();
    }
    return false;
  });
}

std::vector<int> ChaosWorld::PoolIds(bool need_pages, bool room, bool need_napi) const {
  return Ids(pools_, [&](const Pool& p) {
    if (!p.ready) return false;
    if (need_pages && p.pages.empty()) return false;
    if (room && !relax_caps_ && p.pages.size() + p.pending * 8 >= kMaxDriverPages) return false;
    if (need_napi && p.napi_cpu < 0) return false;
    return true;
  });
}

bool ChaosWorld::SkbRoom() const { return relax_caps_ || skbs_.size() < kMaxSkbs; }
bool ChaosWorld::ExtraRoom() const { return relax_caps_ || extras_.size() < kMaxExtras; }
bool ChaosWorld::ReaderRoom() const { return readers_.size() < kMaxReaders; }

bool ChaosWorld::AnyHeld() const {
  return std::any_of(held_.begin(), held_.end(), [](uint32_t n) { return n > 0; });
}

// With a surprise_remove fault armed, only fresh devices are bound (and only so many).
bool ChaosWorld::CanRebind() const {
  if (!Certain()) return devices_made_ < static_cast<int>(4 * options_.devices);
  return CountBound() < static_cast<int>(options_.devices) ||
         !Ids(devices_, [](const Device& d) {
            return d.state == DevState::kPresent || d.state == DevState::kUnbound;
          }).empty();
}

std::vector<int> ChaosWorld::DestroyCandidates() const {
  return Ids(pools_, [](const Pool& p) { return p.standalone && p.pending == 0; });
}

std::vector<int> ChaosWorld::CreateCandidates() const {
  return Ids(devices_, [&](const Device& d) {
    return d.state == DevState::kBound && !HasStandalone(d);
  });
}

std::vector<int> ChaosWorld::FreeExtras() const {
  return Ids(extras_, [](const Extra& e) { return !e.pinned; });
}

std::vector<int> ChaosWorld::TeardownCandidates(bool unbind) const {
  return Ids(devices_, [&](const Device& d) {
    if (!DeviceQuiet(d)) return false;
    if (unbind) return d.state == DevState::kBound;
    return d.state == DevState::kBound || d.state == DevState::kUnbound ||
           d.state == DevState::kPresent;
  });
}

bool ChaosWorld::HasStandalone(const Device& d) const {
  return std::any_of(d.pools.begin(), d.pools.end(),
                     [&](int p) { return pools_.at(p).standalone; });
}

// ---- model updates -------------------------------------------------------------------------

int ChaosWorld::NewGroup(Group g) {
  const int id = next_id_++;
  groups_.emplace(id, std::move(g));
  return id;
}

int ChaosWorld::AddSkb(const std::string& ref, int group, int pp, uint32_t cpu, bool busy) {
  const int id = next_id_++;
  skbs_.emplace(id, Skb{.ref = ref, .group = group, .pp = pp, .cpu = cpu, .busy = busy});
  ++groups_.at(group).members;
  return id;
}

void ChaosWorld::Unclone(int id) {
  Skb& s = skbs_.at(id);
  Group& g = groups_.at(s.group);
  if (g.members <= 1 && !g.outside) return;
  Group copy{.members = 0, .outside = false, .known = g.known, .frags = g.frags};
  if (--g.members == 0) groups_.erase(s.group);
  s.group = NewGroup(std::move(copy));
  ++groups_.at(s.group).members;
  // skb_release_data on the old data clears pp_recycle on some profiles (2cc3aeb5eccc).
  s.pp = -1;
}

void ChaosWorld::DropSkb(int id, bool freed_now) {
  const int gid = skbs_.at(id).group;
  Group& g = groups_.at(gid);
  --g.members;
  if (!freed_now && g.members > 0) g.outside = true;
  if (g.members == 0) groups_.erase(gid);
  skbs_.erase(id);
}

void ChaosWorld::ReturnDriverPages(int pool_id) {
  Pool& p = pools_.at(pool_id);
  for (const Page& page : p.pages) {
    Push(absl::StrCat("page_pool_put_page pool=", p.ref, " page=", page.page, " @process:0"));
  }
  p.pages.clear();
}

void ChaosWorld::DropPools(Device& d) {
  for (int p : d.pools) pools_.erase(p);
  d.pools.clear();
}

// ---- emitters ------------------------------------------------------------------------------

void ChaosWorld::EmitAlloc(bool frag) {
  const std::vector<int> ids = PoolIds(false, true, false);
  const int id = ids[Draw(ids.size())];
  Pool& p = pools_.at(id);
  ++p.pending;
  if (frag) {
    static constexpr uint32_t kSizes[] = {512, 1024, 1536, 2048, 3072};
    (void)Line(absl::StrCat("page_pool_alloc_frag pool=", p.ref, " size=", kSizes[Draw(5)], " ",
                            Ctx(p.napi_cpu)),
               true, Pending{.observe = &ChaosWorld::ObserveAlloc, .a = id});
  } else {
    (void)Line(absl::StrCat("page_pool_alloc_pages pool=", p.ref, " count=", 1 + Draw(8), " ",
                            Ctx(p.napi_cpu)),
               true, Pending{.observe = &ChaosWorld::ObserveAlloc, .a = id});
  }
}

ChaosWorld::Page ChaosWorld::TakePage(Pool& p) {
  const size_t i = Draw(p.pages.size());
  Page page = std::move(p.pages[i]);
  p.pages[i] = std::move(p.pages.back());
  p.pages.pop_back();
  return page;
}

void ChaosWorld::EmitRecycle() {
  const std::vector<int> ids = PoolIds(true, false, false);
  Pool& p = pools_.at(ids[Draw(ids.size())]);
  const Page page = TakePage(p);
  // page_pool_put_page(allow_direct=true) only from the pool's own NAPI (page_pool_napi_local,
  // docs/kernel/page-pool.md §3.4); elsewhere the driver returns without direct recycling.
  if (p.napi_cpu >= 0 && p.polled && Certain() && Draw(2) == 0) {
    Push(absl::StrCat("page_pool_put_page pool=", p.ref, " page=", page.page,
                      " allow_direct=true ", Ctx(p.napi_cpu)));
  } else {
    Push(absl::StrCat("page_pool_put_page pool=", p.ref, " page=", page.page, " @process:",
                      RandomCpu()));
  }
}

void ChaosWorld::EmitBuild() {
  const std::vector<int> ids = PoolIds(true, false, false);
  Pool& p = pools_.at(ids[Draw(ids.size())]);
  const size_t n = 1 + Draw(std::min<size_t>(4, p.pages.size()));
  std::vector<std::string> refs;
  Group g{.members = 0, .outside = false, .known = true};
  for (size_t i = 0; i < n; ++i) {
    const Page page = TakePage(p);
    refs.push_back(page.page);
    g.frags.push_back(Frag{.key = page.key, .offset = 0, .len = kPageBytes});
  }
  const uint32_t cpu = p.napi_cpu >= 0 ? static_cast<uint32_t>(p.napi_cpu) : 0;
  const std::string name = absl::StrCat("s", next_step_);
  const int skb = AddSkb(absl::StrCat("$", name, ".skbs[0]"), NewGroup(std::move(g)), 1, cpu, true);
  (void)Line(absl::StrCat("skb_build frags=", absl::StrJoin(refs, ","), " recycle=true ",
                          Ctx(p.napi_cpu >= 0 ? p.napi_cpu : 0)),
             true, Pending{.observe = &ChaosWorld::ObserveNewSkb, .a = skb});
}

int ChaosWorld::PickSkb(SkbNeed need) {
  const std::vector<int> ids = SkbIds(need);
  return ids[Draw(ids.size())];
}

void ChaosWorld::EmitClone() {
  const int src = PickSkb(SkbNeed::kAny);
  const uint32_t cpu = RandomCpu();
  const Skb& s = skbs_.at(src);
  const std::string line = absl::StrCat("skb_clone skb=", s.ref, " ", Ctx(cpu));
  const std::string name = absl::StrCat("s", next_step_);
  const int c = AddSkb(absl::StrCat("$", name, ".skbs[0]"), s.group, s.pp, cpu, true);
  (void)Line(line, true, Pending{.observe = &ChaosWorld::ObserveNewSkb, .a = c});
}

void ChaosWorld::EmitExpand() {
  const int id = PickSkb(SkbNeed::kAny);
  Push(absl::StrCat("pskb_expand_head skb=", skbs_.at(id).ref, " ", Ctx(RandomCpu())));
  Unclone(id);
}

void ChaosWorld::EmitSplit() {
  const int id = PickSkb(SkbNeed::kSplit);
  Skb& s = skbs_.at(id);
  Group& g = groups_.at(s.group);
  const uint32_t at = static_cast<uint32_t>(Draw(g.frags.size()));
  const Frag fr = g.frags[at];
  const uint32_t cut = fr.len > 1 && Draw(2) == 0 ? 1 + static_cast<uint32_t>(Draw(fr.len - 1)) : 0;
  Group moved{.members = 0, .outside = false, .known = true};
  if (cut > 0) moved.frags.push_back(Frag{fr.key, fr.offset + cut, fr.len - cut});
  for (size_t i = at + (cut > 0 ? 1 : 0); i < g.frags.size(); ++i) moved.frags.push_back(g.frags[i]);
  g.frags.resize(at + (cut > 0 ? 1 : 0));
  if (cut > 0) g.frags[at].len = cut;
  const uint32_t cpu = RandomCpu();
  const std::string line =
      absl::StrCat("skb_split skb=", s.ref, " at=", at, " cut=", cut, " ", Ctx(cpu));
  const std::string name = absl::StrCat("s", next_step_);
  // skb1 is a fresh skb: pp_recycle 0 (docs/kernel/skb-and-iommu.md §2.1 B7).
  const int n = AddSkb(absl::StrCat("$", name, ".skbs[0]"), NewGroup(std::move(moved)), 0, cpu, true);
  (void)Line(line, true, Pending{.observe = &ChaosWorld::ObserveNewSkb, .a = n});
}

void ChaosWorld::EmitShift() {
  const int tgt = PickSkb(SkbNeed::kAny);
  const int from = PickOther(tgt);
  Push(absl::StrCat("skb_shift tgt=", skbs_.at(tgt).ref, " skb=", skbs_.at(from).ref,
                    " count=", 1 + Draw(2), " ", Ctx(RandomCpu())));
  Unclone(tgt);
  Unclone(from);
  groups_.at(skbs_.at(tgt).group).known = false;
  groups_.at(skbs_.at(from).group).known = false;
}

int ChaosWorld::PickOther(int other) {
  std::vector<int> ids = SkbIds(SkbNeed::kAny);
  ids.erase(std::find(ids.begin(), ids.end(), other));
  return ids[Draw(ids.size())];
}

void ChaosWorld::EmitTrim() {
  const int id = PickSkb(SkbNeed::kAny);
  const Group& g0 = groups_.at(skbs_.at(id).group);
  const uint32_t keep = static_cast<uint32_t>(g0.known ? Draw(g0.frags.size() + 1) : Draw(4));
  Push(absl::StrCat("pskb_trim skb=", skbs_.at(id).ref, " keep_frags=", keep, " ",
                    Ctx(RandomCpu())));
  Unclone(id);  // ___pskb_trim unclones first
  Group& g = groups_.at(skbs_.at(id).group);
  if (g.known && g.frags.size() > keep) g.frags.resize(keep);
}

void ChaosWorld::EmitSegment() {
  const int id = PickSkb(SkbNeed::kAny);
  const Skb& s = skbs_.at(id);
  const Group& g = groups_.at(s.group);
  const uint32_t cpu = RandomCpu();
  Pending p{.observe = &ChaosWorld::ObserveSegment, .a = g.known ? 1 : 0, .cpu = cpu};
  if (g.known) p.frags = g.frags;
  (void)Line(absl::StrCat("skb_segment skb=", s.ref, " ", Ctx(cpu)), true, std::move(p));
}

void ChaosWorld::EmitCoalesce() {
  const int to = PickSkb(SkbNeed::kAny);
  const int from = PickOther(to);
  const uint32_t cpu = RandomCpu();
  groups_.at(skbs_.at(to).group).known = false;
  groups_.at(skbs_.at(from).group).known = false;
  skbs_.at(from).busy = true;  // freed by the caller if merged (kfree_skb_partial)
  (void)Line(absl::StrCat("skb_try_coalesce to=", skbs_.at(to).ref, " from=",
                          skbs_.at(from).ref, " ", Ctx(cpu)),
             true, Pending{.observe = &ChaosWorld::ObserveCoalesce, .a = from, .cpu = cpu});
}

void ChaosWorld::EmitGro() {
  const std::vector<int> ids = SkbIds(SkbNeed::kUncloned);
  const int p = ids[Draw(ids.size())];
  std::vector<int> others;
  for (int id : ids) {
    if (id != p) others.push_back(id);
  }
  const int skb = others[Draw(others.size())];
  const uint32_t cpu = RandomCpu();
  groups_.at(skbs_.at(p).group).known = false;
  skbs_.at(skb).busy = true;
  (void)Line(absl::StrCat("skb_gro_receive p=", skbs_.at(p).ref, " skb=", skbs_.at(skb).ref,
                          " ", Ctx(cpu)),
             true, Pending{.observe = &ChaosWorld::ObserveGro, .a = skb});
}

void ChaosWorld::EmitFragRef(bool pull) {
  const std::vector<int> skbs = SkbIds(SkbNeed::kFrags);
  const std::vector<int> extras = FreeExtras();
  const bool can_take = ExtraRoom() && !skbs.empty();
  if (!extras.empty() && (!can_take || Draw(2) == 0)) {
    // The subsystem that took the reference lets it go with the kind it took (the op's
    // result says which, Observe): put_page for the get_page of __skb_frag_ref, the pp path
    // only for a pp ref (a580ea994fd3's rule).
    const int id = extras[Draw(extras.size())];
    const Extra& e = extras_.at(id);
    const uint32_t cpu = RandomCpu();
    Push(e.pp_put ? absl::StrCat("napi_pp_put_page page=", e.page, " @softirq:", cpu)
                  : absl::StrCat("put_page page=", e.page, " @process:", cpu));
    extras_.erase(id);
    return;
  }
  const int id = skbs[Draw(skbs.size())];
  const Skb& s = skbs_.at(id);
  const Group& g = groups_.at(s.group);
  const uint32_t frag = static_cast<uint32_t>(Draw(g.frags.size()));
  const uint32_t cpu = RandomCpu();
  if (pull) {
    (void)Line(absl::StrCat("skb_pull_page skb=", s.ref, " frag=", frag, " @process:", cpu), true,
               Pending{.observe = &ChaosWorld::ObservePullPage});
  } else {
    (void)Line(absl::StrCat("skb_frag_ref skb=", s.ref, " frag=", frag, " ", Ctx(cpu)), true,
               Pending{.observe = &ChaosWorld::ObserveFragRef});
  }
}

void ChaosWorld::EmitHold() {
  const int id = PickSkb(SkbNeed::kAny);
  const int h = static_cast<int>(Draw(kHolderCount));
  const uint32_t cpu = RandomCpu();
  Push(absl::StrCat("stack_hold skb=", skbs_.at(id).ref, " holder=", kHolders[h], " cpu=", cpu,
                    " ", Ctx(cpu)));
  ++held_[h * options_.cpus + cpu];
  DropSkb(id, /*freed_now=*/false);
}

void ChaosWorld::EmitRelease() {
  std::vector<int> slots;
  for (size_t i = 0; i < held_.size(); ++i) {
    if (held_[i] > 0) slots.push_back(static_cast<int>(i));
  }
  const int slot = slots[Draw(slots.size())];
  const int h = slot / static_cast<int>(options_.cpus);
  const uint32_t cpu = static_cast<uint32_t>(slot) % options_.cpus;
  const uint32_t count = Draw(2) == 0 ? 0 : 1 + static_cast<uint32_t>(Draw(held_[slot]));
  Push(absl::StrCat("stack_release holder=", kHolders[h], " cpu=", cpu, " count=", count, " ",
                    Ctx(cpu)));
  held_[slot] = count == 0 ? 0 : held_[slot] - std::min(held_[slot], count);
}

void ChaosWorld::EmitFree(FreeVia via) {
  const int id = PickSkb(SkbNeed::kAny);
  const Skb& s = skbs_.at(id);
  const uint32_t cpu = RandomCpu();
  if (via == FreeVia::kKfreeSkb) {
    Push(absl::StrCat("kfree_skb skb=", s.ref, " ", Draw(2) == 0 ? Ctx(cpu) : "@process:0"));
    DropSkb(id, true);
  } else if (via == FreeVia::kNapiConsumeSkb) {
    Push(absl::StrCat("napi_consume_skb skb=", s.ref, " budget=64 ", Ctx(cpu)));
    DropSkb(id, true);
  } else {
    // skb_attempt_defer_free: freed now on its allocating CPU, else queued on that CPU's
    // defer list until its net_rx_action.
    Push(absl::StrCat("skb_attempt_defer_free skb=", s.ref, " ", Ctx(cpu)));
    const bool now = cpu == s.cpu;
    if (!now) ++held_[kDeferFree * options_.cpus + s.cpu];
    DropSkb(id, now);
  }
}

void ChaosWorld::EmitNetRx() {
  const uint32_t cpu = RandomCpu();
  Push(absl::StrCat("net_rx_action cpu=", cpu, " ", Ctx(cpu)));
  held_[kDeferFree * options_.cpus + cpu] = 0;
}

void ChaosWorld::EmitAdvance() {
  static constexpr const char* kSteps[] = {"50us", "1ms", "10ms", "100ms", "1s", "3s"};
  Push(absl::StrCat("advance_time ns=", kSteps[Draw(6)]));
}

void ChaosWorld::EmitDeviceDma() {
  // The NIC writes a received frame into a buffer the driver posted (and still owns).
  const std::vector<int> ids = PoolIds(true, false, false);
  const Pool& p = pools_.at(ids[Draw(ids.size())]);
  const Page& page = p.pages[Draw(p.pages.size())];
  Push(absl::StrCat("device_dma device=", devices_.at(p.device).ref, " iova=", page.dma,
                    " len=", 64 * (1 + Draw(32)), " write=true expect=", page.page));
}

void ChaosWorld::EmitGup() {
  const std::vector<int> extras = FreeExtras();
  const bool can_begin = ReaderRoom() && !extras.empty();
  if (!readers_.empty() && (!can_begin || Draw(2) == 0)) {
    std::vector<int> ids;
    for (const auto& [id, r] : readers_) ids.push_back(id);
    const int id = ids[Draw(ids.size())];
    const Reader r = readers_.at(id);
    readers_.erase(id);
    (void)Line(absl::StrCat("gup_fast_try_get reader=", r.ref, " @process:0"), true,
               Pending{.observe = &ChaosWorld::ObserveGup, .a = r.extra, .b = 1, .page = r.page});
    Push(absl::StrCat("gup_fast_end reader=", r.ref, " @process:0"));
    return;
  }
  // A lockless reader (GUP-fast, docs/kernel/skb-and-iommu.md §8.9) finds a page this model holds
  // a reference on; the reference stays pinned until the reader is done, so the page cannot
  // be reused under it by the generator's own doing.
  const int e = extras[Draw(extras.size())];
  Extra& x = extras_.at(e);
  x.pinned = true;
  (void)Line(absl::StrCat("gup_fast_begin page=", x.page, " @process:0"), true,
             Pending{.observe = &ChaosWorld::ObserveGup, .a = e, .b = 0, .page = x.page});
}

void ChaosWorld::EmitTeardown(absl::string_view op) {
  const bool unbind = op == "unbind_driver";
  const std::vector<int> ids = TeardownCandidates(unbind);
  Device& d = devices_.at(ids[Draw(ids.size())]);
  // The driver's remove frees its RX rings and its own pools before the core tears down.
  for (int p : d.pools) {
    ReturnDriverPages(p);
    if (pools_.at(p).standalone) Push(absl::StrCat("page_pool_destroy pool=", pools_.at(p).ref));
  }
  DropPools(d);
  Push(absl::StrCat(op, " device=", d.ref));
  d.state = unbind ? DevState::kUnbound : DevState::kGone;
}

void ChaosWorld::EmitRebind() {
  std::vector<int> ready = Ids(devices_, [&](const Device& d) {
    return d.state == DevState::kPresent || (Certain() && d.state == DevState::kUnbound);
  });
  if (!ready.empty()) {
    const int id = ready[Draw(ready.size())];
    Device& d = devices_.at(id);
    d.state = DevState::kBinding;
    // The lab's default strategy is the run's (the runner sets it): not named here.
    (void)Line(absl::StrCat("bind_driver device=", d.ref, " flags=1 rx_queues=", 1 + Draw(2)),
               true, Pending{.observe = &ChaosWorld::ObserveBind, .a = id});
    return;
  }
  const int id = next_id_++;
  devices_[id].state = DevState::kPending;
  ++devices_made_;
  (void)Line("add_device", true, Pending{.observe = &ChaosWorld::ObserveAddDevice, .a = id});
}

// The poll of one RX queue ends (napi_complete_done: the budget was not used up), or a new
// interrupt schedules it again. Between the two, the queue's softirq ops run outside any poll,
// where page_pool_napi_local() is false and puts go through the ptr_ring.
void ChaosWorld::EmitNapiPoll() {
  const std::vector<int> ids = PoolIds(false, false, true);
  Pool& p = pools_.at(ids[Draw(ids.size())]);
  const Device& d = devices_.at(p.device);
  Push(absl::StrCat(p.polled ? "napi_complete_done" : "napi_schedule", " device=", d.ref,
                    " queue=", p.queue, " ", Ctx(p.napi_cpu)));
  p.polled = !p.polled;
}

void ChaosWorld::EmitDestroy() {
  const std::vector<int> ids = DestroyCandidates();
  const int id = ids[Draw(ids.size())];
  ReturnDriverPages(id);
  Push(absl::StrCat("page_pool_destroy pool=", pools_.at(id).ref));
  Device& d = devices_.at(pools_.at(id).device);
  d.pools.erase(std::find(d.pools.begin(), d.pools.end(), id));
  pools_.erase(id);
}

void ChaosWorld::EmitCreate() {
  const std::vector<int> ids = CreateCandidates();
  const int dev = ids[Draw(ids.size())];
  // A second pool of the driver without NAPI (e.g. a header-split or XDP TX pool), used from
  // process context only.
  const int pool = next_id_++;
  pools_[pool] = Pool{.ref = "", .device = dev, .napi_cpu = -1, .standalone = true,
                      .ready = false, .pending = 1};
  devices_.at(dev).pools.push_back(pool);
  const std::string name = Line(
      absl::StrCat("page_pool_create device=", devices_.at(dev).ref, " flags=1"), true,
      Pending{.observe = &ChaosWorld::ObserveCreate, .a = pool});
  pools_.at(pool).ref = absl::StrCat("$", name, ".pool");
}

// ---- the heal phase ------------------------------------------------------------------------

void ChaosWorld::Drain() {
  draining_ = true;
  if (!fault_lines_.empty()) Push("clear_faults");
  for (const auto& [id, r] : readers_) {
    Push(absl::StrCat("gup_fast_end reader=", r.ref, " @process:0"));
    if (auto it = extras_.find(r.extra); it != extras_.end()) it->second.pinned = false;
  }
  readers_.clear();
  for (const auto& [id, e] : extras_) {
    Push(e.pp_put ? absl::StrCat("napi_pp_put_page page=", e.page, " @softirq:0")
                  : absl::StrCat("put_page page=", e.page, " @process:0"));
  }
  extras_.clear();
  std::vector<int> skbs;
  for (const auto& [id, s] : skbs_) skbs.push_back(id);
  for (int id : skbs) {
    Push(absl::StrCat("kfree_skb skb=", skbs_.at(id).ref, " @process:0"));
    DropSkb(id, true);
  }
  for (auto& [id, p] : pools_) ReturnDriverPages(id);
  for (int h = 0; h < kHolderCount; ++h) {
    for (uint32_t cpu = 0; cpu < options_.cpus; ++cpu) {
      if (held_[h * options_.cpus + cpu] == 0) continue;
      Push(absl::StrCat("stack_release holder=", kHolders[h], " cpu=", cpu, " count=0 ",
                        Ctx(static_cast<int>(cpu))));
      held_[h * options_.cpus + cpu] = 0;
    }
  }
  for (uint32_t cpu = 0; cpu < options_.cpus; ++cpu) {
    Push(absl::StrCat("net_rx_action cpu=", cpu, " ", Ctx(static_cast<int>(cpu))));
  }
  // A pool counts its cached and ringed pages as in flight until page_pool_destroy scrubs
  // them (docs/kernel/page-pool.md §3.6): only destroyed pools can drain, so the drivers unbind.
  // With a surprise_remove fault armed a device's state is unknown: they stay bound.
  if (Certain()) {
    for (auto& [id, d] : devices_) {
      if (d.state != DevState::kBound) continue;
      for (int p : d.pools) {
        if (pools_.at(p).standalone) Push(absl::StrCat("page_pool_destroy pool=", pools_.at(p).ref));
      }
      DropPools(d);
      Push(absl::StrCat("unbind_driver device=", d.ref));
      d.state = DevState::kUnbound;
    }
  }
}

// ---- results -------------------------------------------------------------------------------

void ChaosWorld::Observe(const Step& step, const v1::OpResult& r) {
  if (step.as.empty()) return;
  auto it = pending_.find(step.as);
  if (it == pending_.end()) return;
  const Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.observe != nullptr) (this->*p.observe)(p, step.as, r);
}

void ChaosWorld::ObserveAlloc(const Pending& p, const std::string& n, const v1::OpResult& r) {
  auto pool = pools_.find(p.a);
  if (pool == pools_.end()) return;
  --pool->second.pending;
  for (int i = 0; i < r.pages_size(); ++i) {
    pool->second.pages.push_back(Page{.page = absl::StrCat("$", n, ".pages[", i, "]"),
                                      .dma = absl::StrCat("$", n, ".dma[", i, "]"),
                                      .key = next_key_++});
  }
}

// skb_build, skb_clone, skb_split: the skb entered the model when the op was generated.
void ChaosWorld::ObserveNewSkb(const Pending& p, const std::string&, const v1::OpResult& r) {
  if (r.skbs_size() == 0) {
    DropSkb(p.a, true);  // refused: the generator's bug, counted by the runner
  } else {
    skbs_.at(p.a).busy = false;
  }
}

void ChaosWorld::ObserveSegment(const Pending& p, const std::string& n, const v1::OpResult& r) {
  for (int i = 0; i < r.skbs_size(); ++i) {
    const bool one = p.a == 1 && i < static_cast<int>(p.frags.size());
    Group g{.members = 0, .outside = !one, .known = one};
    if (one) g.frags.push_back(p.frags[i]);
    (void)AddSkb(absl::StrCat("$", n, ".skbs[", i, "]"), NewGroup(std::move(g)), -1, p.cpu,
                 false);
  }
}

void ChaosWorld::ObserveCoalesce(const Pending& p, const std::string&, const v1::OpResult& r) {
  if (r.value() == 1) {
    Push(absl::StrCat("kfree_skb skb=", skbs_.at(p.a).ref, " ", Ctx(static_cast<int>(p.cpu))));
    DropSkb(p.a, true);
  } else {
    skbs_.at(p.a).busy = false;
  }
}

void ChaosWorld::ObserveGro(const Pending& p, const std::string&, const v1::OpResult& r) {
  if (r.value() == 1) {
    DropSkb(p.a, true);  // merged and freed, or chained on p's frag_list
  } else {
    skbs_.at(p.a).busy = false;
  }
}

// The reference is released as what it is, never as what the skb's pp_recycle suggests.
// __skb_frag_ref is a plain get_page on every released kernel (include/linux/skbuff_ref.h
// @ 3daee2e4b356; a580ea994fd3 made it a pp ref and was reverted by 173e7622ccb3 before
// 6.10, docs/kernel/skb-and-iommu.md §1.4, §2 table), and the pairing rule is "a page ref is
// dropped with put_page" (§0, Kicinski). Dropping a get_page with napi_pp_put_page gives
// back a pp_ref_count the holder never took: on a full page that count is the last one
// and the page is merely released early (_refcount 2, §3.4), but on a fragment page
// (page_pool_alloc_frag, pp_ref_count = BIAS_MAX less the drained bias, page-pool.md
// §3.2) it steals a live fragment's reference, so page_pool_drain_frag underflows
// (PP009) or the pool recycles/releases a page a driver slot still owns (PP016).
// skb_frag_ref reports the kind it took (value 1 = pp ref); skb_pull_page's is get_page.
void ChaosWorld::ObserveFragRef(const Pending&, const std::string& n, const v1::OpResult& r) {
  if (r.pages_size() > 0) {
    extras_[next_id_++] =
        Extra{.page = absl::StrCat("$", n, ".pages[0]"), .pp_put = r.value() == 1};
  }
}

void ChaosWorld::ObservePullPage(const Pending&, const std::string& n, const v1::OpResult& r) {
  if (r.pages_size() > 0) {
    extras_[next_id_++] = Extra{.page = absl::StrCat("$", n, ".pages[0]"), .pp_put = false};
  }
}

void ChaosWorld::ObserveGup(const Pending& p, const std::string& n, const v1::OpResult& r) {
  if (p.b == 0) {
    readers_[next_id_++] =
        Reader{.ref = absl::StrCat("$", n, ".value"), .page = p.page, .extra = p.a};
  } else {
    if (auto e = extras_.find(p.a); e != extras_.end()) e->second.pinned = false;
    // A successful speculative get, and the PTE did not change: the reader keeps it.
    if (r.value() == 1) extras_[next_id_++] = Extra{.page = p.page, .pp_put = false};
  }
}

void ChaosWorld::ObserveAddDevice(const Pending& p, const std::string& n,
                                  const v1::OpResult& r) {
  Device& d = devices_.at(p.a);
  d.ref = absl::StrCat("$", n, ".device");
  d.state = r.device() != 0 ? DevState::kPresent : DevState::kGone;
}

void ChaosWorld::ObserveBind(const Pending& p, const std::string& n, const v1::OpResult& r) {
  Device& d = devices_.at(p.a);
  if (r.pools_size() == 0) {
    d.state = DevState::kGone;  // refused; never touched again
    return;
  }
  d.state = DevState::kBound;
  for (int q = 0; q < r.pools_size(); ++q) {
    const int id = next_id_++;
    const int cpu = static_cast<int>(q % options_.cpus);
    pools_[id] = Pool{.ref = absl::StrCat("$", n, ".pools[", q, "]"), .device = p.a,
                      .napi_cpu = cpu, .queue = q, .polled = true};
    d.pools.push_back(id);
    // Traffic arrives: the queue's interrupt schedules its NAPI on the queue's CPU, and the
    // driver's RX ops that follow run inside that poll.
    Push(absl::StrCat("napi_schedule device=", d.ref, " queue=", q, " ", Ctx(cpu)),
         /*counted=*/false);  // part of the bind step
  }
}

void ChaosWorld::ObserveCreate(const Pending& p, const std::string&, const v1::OpResult& r) {
  auto pool = pools_.find(p.a);
  if (pool == pools_.end()) return;
  pool->second.pending = 0;
  pool->second.ready = true;
  if (r.pool() == 0) {
    Device& d = devices_.at(pool->second.device);
    d.pools.erase(std::find(d.pools.begin(), d.pools.end(), p.a));
    pools_.erase(pool);
  }
}

}  // namespace ppsim::chaos
