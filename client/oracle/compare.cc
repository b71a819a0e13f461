#include "client/oracle/compare.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <cstring>
#include <iterator>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ppsim::oracle {

namespace {

// One compared value: `object` is "" (the op), "pool N", "page N" or "netlink pool N";
// `kind` names the field for the not-compared list ("pool.cache").
struct Field {
  std::string object;
  std::string name;
  std::string kind;
  std::string value;
  std::string key() const { return object.empty() ? name : absl::StrCat(object, " ", name); }
};

std::string B(bool b) { return b ? "true" : "false"; }

class Flattener {
 public:
  std::vector<Field> out;
  void Add(const std::string& object, const char* group, const char* name, std::string v) {
    out.push_back({object, name, absl::StrCat(group, ".", name), std::move(v)});
  }
  template <class T>
  void Opt(const std::string& object, const char* group, const char* name,
           const std::optional<T>& v) {
    if (!v) return;
    if constexpr (std::is_same_v<T, bool>) {
      Add(object, group, name, B(*v));
    } else {
      Add(object, group, name, absl::StrCat(*v));
    }
  }
};

std::vector<Field> Flatten(const OpObs& o) {
  Flattener f;
  f.Add("", "op", "rc", o.refused ? "refused" : "0");
  f.Add("", "op", "pools", absl::StrCat(o.pools.size()));
  for (const PoolObs& p : o.pools) {
    const std::string obj = absl::StrCat("pool ", p.pool);
    f.Add(obj, "pool", "state", p.state);
    f.Add(obj, "pool", "held", absl::StrCat(p.held));
    f.Add(obj, "pool", "held_dma_nonzero", absl::StrCat(p.held_dma_nonzero));
    f.Add(obj, "pool", "readable", B(p.readable));
    f.Opt(obj, "pool", "cache", p.cache);
    f.Opt(obj, "pool", "ring", p.ring);
    f.Opt(obj, "pool", "ring_size", p.ring_size);
    f.Opt(obj, "pool", "hold", p.hold);
    f.Opt(obj, "pool", "release", p.release);
    f.Opt(obj, "pool", "inflight", p.inflight);
    f.Opt(obj, "pool", "nid", p.nid);
    f.Opt(obj, "pool", "destroy_cnt", p.destroy_cnt);
    f.Opt(obj, "pool", "cpuid", p.cpuid);
    f.Opt(obj, "pool", "napi_set", p.napi_set);
    f.Opt(obj, "pool", "detached", p.detached);
  }
  std::vector<int> pages;
  for (const PageObs& p : o.pages) pages.push_back(p.page);
  std::sort(pages.begin(), pages.end());
  f.Add("", "op", "pages observed", pages.empty() ? "none" : absl::StrJoin(pages, ","));
  for (const PageObs& p : o.pages) {
    const std::string obj = absl::StrCat("page ", p.page);
    f.Add(obj, "page", "refcount", absl::StrCat(p.refcount));
    f.Add(obj, "page", "pp_ref", absl::StrCat(p.pp_ref));
    f.Add(obj, "page", "signature", B(p.signature));
    f.Add(obj, "page", "pp_is_pool", B(p.pp_is_pool));
    f.Add(obj, "page", "pfmemalloc", B(p.pfmemalloc));
    f.Add(obj, "page", "nid", absl::StrCat(p.nid));
    f.Add(obj, "page", "dma", p.dma_nonzero ? "nonzero" : "0");
    f.Opt(obj, "page", "where", p.where);
    f.Add(obj, "page", "same_pfn_as",
          p.same_pfn_as == 0 ? "none" : absl::StrCat("page ", p.same_pfn_as));
  }
  std::vector<int> skbs;
  for (const SkbObs& s : o.skbs) skbs.push_back(s.skb);
  std::sort(skbs.begin(), skbs.end());
  f.Add("", "op", "skbs observed", skbs.empty() ? "none" : absl::StrJoin(skbs, ","));
  for (const SkbObs& s : o.skbs) {
    const std::string obj = absl::StrCat("skb ", s.skb);
    f.Add(obj, "skb", "state", s.state);
    if (s.state != "live" && s.state != "held") continue;
    f.Add(obj, "skb", "pp_recycle", B(s.pp_recycle));
    f.Add(obj, "skb", "dataref", absl::StrCat(s.dataref));
    f.Add(obj, "skb", "cloned", B(s.cloned));
    f.Opt(obj, "skb", "cloned_bit", s.cloned_bit);
    f.Add(obj, "skb", "len", absl::StrCat(s.len));
    f.Add(obj, "skb", "data_len", absl::StrCat(s.data_len));
    f.Add(obj, "skb", "headlen", absl::StrCat(s.headlen));
    f.Add(obj, "skb", "head_page", s.head_page == 0 ? "none" : absl::StrCat("page ", s.head_page));
    f.Add(obj, "skb", "frag_list", absl::StrCat(s.frag_list));
    f.Add(obj, "skb", "nr_frags", absl::StrCat(s.nr_frags));
    std::vector<std::string> frags;
    for (const FragObs& fr : s.frags) {
      frags.push_back(absl::StrCat(fr.page == 0 ? "?" : absl::StrCat("page ", fr.page), "+",
                                   fr.off, ":", fr.size));
    }
    f.Add(obj, "skb", "frags", frags.empty() ? "none" : absl::StrJoin(frags, ", "));
  }
  if (o.netlink) {
    std::vector<int> listed;
    for (const NetlinkObs& n : *o.netlink) listed.push_back(n.pool);
    f.Add("", "netlink", "pools listed", listed.empty() ? "none" : absl::StrJoin(listed, ","));
    for (const NetlinkObs& n : *o.netlink) {
      const std::string obj = absl::StrCat("netlink pool ", n.pool);
      f.Add(obj, "netlink", "ifindex", n.ifindex);
      f.Add(obj, "netlink", "napi-id", n.napi);
      f.Add(obj, "netlink", "inflight", absl::StrCat(n.inflight));
      f.Add(obj, "netlink", "inflight-mem", absl::StrCat(n.inflight_mem));
      f.Add(obj, "netlink", "detach-time", n.detached ? "present" : "absent");
    }
  }
  f.Add("flags", "flags", "warn", B(o.flags.warn));
  f.Add("flags", "flags", "bug", B(o.flags.bug));
  f.Add("flags", "flags", "bad_page", B(o.flags.bad_page));
  f.Add("flags", "flags", "oops", B(o.flags.oops));
  return f.out;
}

std::set<std::string> Objects(const std::vector<Field>& fields) {
  std::set<std::string> s;
  for (const Field& f : fields) s.insert(f.object);
  return s;
}

std::string Note(const OpObs& k, const OpObs& m) {
  std::string note;
  if (k.refused) absl::StrAppend(&note, "kernel: ", k.err);
  if (m.refused) absl::StrAppend(&note, note.empty() ? "" : "; ", "model: ", m.err);
  return note;
}

// A page the kernel reports back in the page allocator: pp_ref, dma_addr and the pool's
// cache/ring lie in words the allocator reuses for its own lists (include/linux/mm_types.h:
// the page_pool fields share struct page's union with lru, index and private).
bool FreedOverlay(const Field& f, const std::set<std::string>& free_pages) {
  return (f.kind == "page.pp_ref" || f.kind == "page.dma" || f.kind == "page.where") &&
         free_pages.count(f.object) != 0;
}

// "by the next retry": a stalled warning printed on one side at op k must show on the other at
// op k or k+1 (the kernel's dmesg of op k+1 holds what its release worker printed in between).
class StalledRule {
 public:
  void Op(int k, const OpObs& kernel_op, const OpObs& model_op, std::vector<Divergence>& out) {
    bool ks = kernel_op.flags.stalled, ms = model_op.flags.stalled;
    Settle(kernel_ahead_, ms, true, out);
    Settle(model_ahead_, ks, false, out);
    if (ks && !ms) kernel_ahead_ = k;
    if (ms && !ks) model_ahead_ = k;
    lines_[k] = kernel_op.line;
  }
  void End(std::vector<Divergence>& out) {
    bool none = false;
    Settle(kernel_ahead_, none, true, out);
    Settle(model_ahead_, none, false, out);
  }

 private:
  // A warning one side printed at op `*ahead` is matched by the other's warning now (which is
  // then used up), or it is a divergence of that op.
  void Settle(std::optional<int>& ahead, bool& other_now, bool kernel_warned,
              std::vector<Divergence>& out) {
    if (!ahead) return;
    if (other_now) {
      other_now = false;
    } else {
      out.push_back({*ahead, lines_[*ahead], "flags stalled", B(kernel_warned), B(!kernel_warned),
                     "nor by the next op (the next release retry)"});
    }
    ahead.reset();
  }
  std::optional<int> kernel_ahead_, model_ahead_;
  std::map<int, std::string> lines_;
};

}  // namespace

// destroy_cnt: one release retry apart, and one more per 25 retries of timer-wheel slack.
bool WithinRetries(const std::string& kernel, const std::string& model) {
  const int64_t k = std::atoll(kernel.c_str()), m = std::atoll(model.c_str());
  return std::abs(k - m) <= 1 + std::max(k, m) / 25;
}

namespace {

// page_pool_release_retry runs DEFER_TIME (1 s) after the destroy and every DEFER_TIME after
// that (net/core/page_pool.c), on the kernel up to 60 ms late (timer wheel, workqueue): how
// many retries have run `elapsed_s` after the destroy, at most `late_s` late each.
int RetriesDue(double elapsed_s, double late_s) {
  const double t = elapsed_s - late_s;
  return t < 0 ? 0 : static_cast<int>(t / 1.0);
}

// The pool index an op line destroys ("page_pool_destroy pool=3"), or 0.
int DestroyedPool(const std::string& line) {
  if (line.rfind("page_pool_destroy", 0) != 0) return 0;
  const size_t at = line.find(" pool=");
  return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + 6);
}

// "pool 3 ring" or "netlink pool 3 inflight": the pool the field belongs to, or 0.
int PoolOfObject(const std::string& object) {
  for (const char* prefix : {"pool ", "netlink pool "}) {
    if (object.rfind(prefix, 0) == 0) return std::atoi(object.c_str() + std::strlen(prefix));
  }
  return 0;
}

}  // namespace

Comparison Compare(const std::vector<OpObs>& kernel, const std::vector<OpObs>& model,
                   const CompareOptions& options) {
  Comparison c;
  std::map<int, std::pair<double, double>> destroyed_at;  // pool -> kernel, model time
  std::set<std::pair<std::string, std::string>> skipped;  // kind, why
  StalledRule stalled;
  const size_t n = std::min(kernel.size(), model.size());
  for (size_t k = 0; k < n; ++k) {
    const OpObs& ko = kernel[k];
    const OpObs& mo = model[k];
    if (const int p = DestroyedPool(ko.line); p != 0 && ko.t_s && mo.t_s) {
      destroyed_at.try_emplace(p, *ko.t_s, *mo.t_s);
    }
    // The two sides straddle one of the pool's release retries: the kernel's may have run and
    // the model's not (or the other way round, the kernel's being late).
    auto straddles_retry = [&](const std::string& object) {
      const auto it = destroyed_at.find(PoolOfObject(object));
      if (it == destroyed_at.end() || !ko.t_s || !mo.t_s) return false;
      const double ke = *ko.t_s - it->second.first, me = *mo.t_s - it->second.second;
      // Late by up to 60 ms (timer slack under load), or early by as much: the destroy's time
      // is taken when its op returns, and the retry was queued while the op ran (tens of ms
      // under load; gen-000369 on 6.12.95 saw it 0.978 s after).
      const int kernel_min = RetriesDue(ke, 0.06), kernel_max = RetriesDue(ke, -0.06);
      return !(kernel_min == kernel_max && kernel_max == RetriesDue(me, 0));
    };
    const std::vector<Field> kf = Flatten(ko), mf = Flatten(mo);
    const std::set<std::string> kobj = Objects(kf), mobj = Objects(mf);
    std::map<std::string, const Field*> by_key;
    for (const Field& f : mf) by_key[f.key()] = &f;
    std::set<std::string> free_pages, unmapped;
    for (const PageObs& p : ko.pages) {
      if (p.refcount == 0) free_pages.insert(absl::StrCat("page ", p.page));
      if (options.unmapped_pools.count(p.pool)) unmapped.insert(absl::StrCat("page ", p.page));
    }
    for (int pool : options.unmapped_pools) unmapped.insert(absl::StrCat("pool ", pool));
    std::set<std::string> matched;
    for (const Field& f : kf) {
      auto it = by_key.find(f.key());
      if (it == by_key.end()) {
        // A pool or page missing on one side shows in "pools" / "pages observed"; a field
        // missing from an object both have is one the model does not give.
        if (mobj.count(f.object)) skipped.insert({f.kind, "not given by the model"});
        continue;
      }
      matched.insert(f.key());
      if (FreedOverlay(f, free_pages)) {
        skipped.insert({f.kind, "not compared for pages back in the page allocator (refcount "
                                "0): the allocator reuses those words (include/linux/mm_types.h)"});
        continue;
      }
      if ((f.kind == "page.dma" || f.kind == "pool.held_dma_nonzero") &&
          unmapped.count(f.object)) {
        skipped.insert({f.kind, "not compared for pools without PP_FLAG_DMA_MAP: page_pool never "
                                "writes their pages' dma_addr (net/core/page_pool.c "
                                "page_pool_dma_map)"});
        continue;
      }
      const std::string& mv = it->second->value;
      bool same = f.value == mv;
      if (!same && f.kind == "pool.destroy_cnt") same = WithinRetries(f.value, mv);
      // The netlink dump lists a destroyed pool until its release retry frees it: a pool
      // missing on one side only, each straddling a retry, is the same timing.
      if (!same && f.name == "pools listed") {
        const std::vector<std::string> kl = absl::StrSplit(f.value, ','),
                                       ml = absl::StrSplit(mv, ',');
        std::set<std::string> ks(kl.begin(), kl.end()), ms(ml.begin(), ml.end());
        ks.erase("none");
        ms.erase("none");
        std::vector<std::string> differ;
        std::set_symmetric_difference(ks.begin(), ks.end(), ms.begin(), ms.end(),
                                      std::back_inserter(differ));
        if (std::all_of(differ.begin(), differ.end(), [&](const std::string& pool) {
              return straddles_retry(absl::StrCat("pool ", pool));
            })) {
          c.timing.push_back({ko.op, ko.line, f.key(), f.value, mv,
                              "a destroyed pool listed on one side only, across its release "
                              "retry"});
          continue;
        }
      }
      if (!same && straddles_retry(f.object)) {
        c.timing.push_back({ko.op, ko.line, f.key(), f.value, mv,
                            absl::StrFormat("the kernel %.2f s after the destroy, the model %.2f s",
                                            *ko.t_s - destroyed_at[PoolOfObject(f.object)].first,
                                            *mo.t_s - destroyed_at[PoolOfObject(f.object)].second)});
      } else if (!same) {
        c.divergences.push_back({ko.op, ko.line, f.key(), f.value, mv, Note(ko, mo)});
      }
    }
    for (const Field& f : mf) {
      if (!matched.count(f.key()) && kobj.count(f.object)) {
        skipped.insert({f.kind, "not in this kernel's observation"});
      }
    }
    stalled.Op(ko.op, ko, mo, c.divergences);
  }
  stalled.End(c.divergences);
  std::stable_sort(c.divergences.begin(), c.divergences.end(),
                   [](const Divergence& a, const Divergence& b) { return a.op < b.op; });
  for (auto& [kind, why] : skipped) c.not_compared.push_back({kind, why});
  return c;
}

const std::vector<NotCompared>& FieldsNeverCompared() {
  static const auto* kFields = new std::vector<NotCompared>{
      {"pool.id, page.pfn, netdev ifindex, napi_id", "kernel ids: mapped through the sequence's "
       "indices (page.same_pfn_as compares frame reuse through the pool)"},
      {"which free frame the page allocator hands out", "page.same_pfn_as starts over when a "
       "frame enters a pool from the page allocator (page_pool_state_hold): the allocator's "
       "choice depends on every allocation in the machine, not on the sequence"},
      {"pool.ptr, page.pp_magic", "pointers and poison bits; page.signature is compared"},
      {"pool.detach_time_raw, netlink detach-time value", "wall time; compared as set or not"},
      {"pool.user_napi_id", "6.12's copy of the NAPI id; the netlink napi-id is compared"},
      {"page.owned, page.extra_refs, pages_held, skbs_made, holder_len", "the module's "
       "bookkeeping, which the translation keeps the same way"},
      {"skb frag pfn", "kernel ids: frags are compared by page index"},
      {"op err, cpu, in_serving_softirq, result, uptime_s, op_ms", "the module's report of the "
       "call, not kernel state (err is shown with a divergence in rc)"},
      {"netdevs, napis", "harness objects: the model has no netdev or NAPI ops of their own"},
      {"dmesg text, trace", "only the flags derived from the log are compared; the model has no "
       "tracepoints"},
      {"epilogue (reset), end", "the runner's cleanup after the sequence"},
  };
  return *kFields;
}

}  // namespace ppsim::oracle
