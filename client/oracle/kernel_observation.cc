#include "client/oracle/kernel_observation.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/oracle/read_file.h"
#include "nlohmann/json.hpp"

namespace ppsim::oracle {

namespace {

using nlohmann::json;

// Type-checked reads: a malformed file is an error message, never an exception.
const json* Get(const json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}
// The frames page_pool_state_hold reported during the op: `pfn=0x...` on every kernel (6.1
// prints page=, 6.12 and 7.3 netmem=, all three print the pfn; include/trace/events/page_pool.h).
std::vector<uint64_t> HeldPfns(const json& o) {
  std::vector<uint64_t> out;
  const auto it = o.find("trace");
  if (it == o.end() || !it->is_array()) return out;
  for (const json& line : *it) {
    if (!line.is_string()) continue;
    const std::string& s = line.get_ref<const std::string&>();
    if (s.find("page_pool_state_hold:") == std::string::npos) continue;
    const size_t at = s.find("pfn=");
    if (at == std::string::npos) continue;
    out.push_back(std::strtoull(s.c_str() + at + 4, nullptr, 0));
  }
  return out;
}

std::optional<int64_t> Int(const json& o, const char* key) {
  const json* v = Get(o, key);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<int64_t>();
}
std::optional<bool> Bool(const json& o, const char* key) {
  const json* v = Get(o, key);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}
std::optional<std::string> Str(const json& o, const char* key) {
  const json* v = Get(o, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

// Ids the kernel gave, to the sequence's indices; filled as the observations go, since an
// object appears in the observation of the op that created it and stays listed.
struct IdMaps {
  std::map<int64_t, int> pool_of_id;
  std::map<int64_t, int> netdev_of_ifindex;
  std::map<int64_t, int> napi_of_id;

  void Learn(const json& kmod) {
    for (const char* list : {"pools", "netdevs", "napis"}) {
      const json* l = Get(kmod, list);
      if (l == nullptr || !l->is_array()) continue;
      for (const json& e : *l) {
        if (auto i = Int(e, "pool"), id = Int(e, "id"); i && id && *id != 0) {
          pool_of_id[*id] = static_cast<int>(*i);
        }
        if (auto i = Int(e, "netdev"), x = Int(e, "ifindex"); i && x && Get(e, "name")) {
          netdev_of_ifindex[*x] = static_cast<int>(*i);
        }
        if (auto i = Int(e, "napi"), id = Int(e, "napi_id"); i && id && *id != 0) {
          napi_of_id[*id] = static_cast<int>(*i);
        }
      }
    }
  }
  std::string Ifindex(const json& e) const {
    const std::optional<int64_t> x = Int(e, "ifindex");
    if (!x) return "absent";
    if (auto it = netdev_of_ifindex.find(*x); it != netdev_of_ifindex.end()) {
      return absl::StrCat("netdev ", it->second);
    }
    return *x == 1 ? "lo" : absl::StrCat("ifindex ", *x);
  }
  std::string Napi(const json& e) const {
    const std::optional<int64_t> id = Int(e, "napi_id");
    if (!id) return "absent";
    if (auto it = napi_of_id.find(*id); it != napi_of_id.end()) {
      return absl::StrCat("napi ", it->second);
    }
    return absl::StrCat("napi-id ", *id);
  }
};

PoolObs ReadPool(const json& p) {
  PoolObs o;
  o.pool = static_cast<int>(Int(p, "pool").value_or(0));
  o.state = Str(p, "state").value_or("?");
  o.held = static_cast<int>(Int(p, "held").value_or(0));
  o.held_dma_nonzero = static_cast<int>(Int(p, "held_dma_nonzero").value_or(0));
  o.readable = Bool(p, "readable").value_or(false);
  if (!o.readable) return o;
  o.cache = Int(p, "cache");
  o.ring = Int(p, "ring");
  o.ring_size = Int(p, "ring_size");
  o.hold = Int(p, "hold");
  o.release = Int(p, "release");
  o.inflight = Int(p, "inflight");
  o.nid = Int(p, "nid");
  o.destroy_cnt = Int(p, "destroy_cnt");
  o.cpuid = Int(p, "cpuid");
  o.napi_set = Bool(p, "napi_set");
  if (std::optional<int64_t> t = Int(p, "detach_time_raw")) o.detached = *t != 0;
  return o;
}

PageObs ReadPage(const json& p) {
  PageObs o;
  o.page = static_cast<int>(Int(p, "page").value_or(0));
  o.pool = static_cast<int>(Int(p, "pool").value_or(0));
  o.pfn = static_cast<uint64_t>(Int(p, "pfn").value_or(0));
  o.refcount = Int(p, "refcount").value_or(0);
  o.pp_ref = Int(p, "pp_ref").value_or(0);
  o.signature = Bool(p, "signature").value_or(false);
  o.pp_is_pool = Bool(p, "pp_is_pool").value_or(false);
  o.pfmemalloc = Bool(p, "pfmemalloc").value_or(false);
  o.nid = Int(p, "nid").value_or(0);
  o.dma_nonzero = std::strtoull(Str(p, "dma").value_or("0").c_str(), nullptr, 0) != 0;
  o.where = Str(p, "where");
  return o;
}

SkbObs ReadSkb(const json& p) {
  SkbObs o;
  o.skb = static_cast<int>(Int(p, "skb").value_or(0));
  o.state = Str(p, "state").value_or("?");
  o.pp_recycle = Bool(p, "pp_recycle").value_or(false);
  o.dataref = Int(p, "dataref").value_or(0);
  o.nr_frags = Int(p, "nr_frags").value_or(0);
  o.cloned = Bool(p, "cloned").value_or(false);
  o.cloned_bit = Bool(p, "cloned_bit");
  o.len = Int(p, "len").value_or(0);
  o.data_len = Int(p, "data_len").value_or(0);
  o.headlen = Int(p, "headlen").value_or(0);
  o.head_page = static_cast<int>(Int(p, "head_page").value_or(0));
  o.frag_list = Int(p, "frag_list").value_or(0);
  if (const json* frags = Get(p, "frags"); frags != nullptr && frags->is_array()) {
    for (const json& f : *frags) {
      o.frags.push_back({.page = static_cast<int>(Int(f, "page").value_or(0)),
                         .off = Int(f, "off").value_or(0),
                         .size = Int(f, "size").value_or(0)});
    }
  }
  return o;
}

absl::Status Malformed(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

}  // namespace

std::string KernelRun::Version() const {
  const std::string& v = debian_version.empty() ? kernel : debian_version;
  return v.substr(0, v.find_first_of(debian_version.empty() ? "+-" : "-"));
}

absl::StatusOr<KernelRun> ParseKernelObservation(absl::string_view path, absl::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Malformed(path, "not a JSON object");
  KernelRun run;
  run.path = std::string(path);
  run.kernel = Str(doc, "kernel").value_or("");
  run.debian_version = Str(doc, "debian_version").value_or("");
  run.series = Str(doc, "series").value_or("");
  run.sequence = Str(doc, "sequence").value_or("");
  const json* obs = Get(doc, "observations");
  if (run.kernel.empty() || obs == nullptr || !obs->is_array()) {
    return Malformed(path, "missing \"kernel\" or \"observations\"");
  }
  IdMaps ids;
  for (const json& o : *obs) {
    if (Bool(o, "epilogue").value_or(false)) continue;
    const json* kmod = Get(o, "kmod");
    const std::optional<int64_t> op = Int(o, "op");
    if (!op || kmod == nullptr || !kmod->is_object()) {
      return Malformed(path, absl::StrCat("observation ", run.ops.size(),
                                          " has no \"op\" or no module observation (kmod)"));
    }
    ids.Learn(*kmod);
    OpObs out;
    out.op = static_cast<int>(*op);
    out.line = Str(o, "line").value_or("");
    out.refused = Int(*kmod, "rc").value_or(-1) != 0 || Int(o, "write_rc").value_or(0) < 0;
    out.err = Str(*kmod, "err").value_or("");
    if (const json* pools = Get(*kmod, "pools"); pools != nullptr && pools->is_array()) {
      for (const json& p : *pools) out.pools.push_back(ReadPool(p));
    }
    if (const json* pages = Get(*kmod, "pages"); pages != nullptr && pages->is_array()) {
      for (const json& p : *pages) out.pages.push_back(ReadPage(p));
    }
    if (const json* skbs = Get(*kmod, "skbs"); skbs != nullptr && skbs->is_array()) {
      for (const json& s : *skbs) out.skbs.push_back(ReadSkb(s));
    }
    if (const json* nl = Get(o, "netlink"); nl != nullptr && nl->is_array()) {
      out.netlink.emplace();
      for (const json& e : *nl) {
        auto it = ids.pool_of_id.find(Int(e, "id").value_or(0));
        if (it == ids.pool_of_id.end()) continue;  // not this sequence's pool
        out.netlink->push_back({.pool = it->second,
                                .ifindex = ids.Ifindex(e),
                                .napi = ids.Napi(e),
                                .inflight = Int(e, "inflight").value_or(0),
                                .inflight_mem = Int(e, "inflight_mem").value_or(0),
                                .detached = Get(e, "detach_time") != nullptr});
      }
      std::sort(out.netlink->begin(), out.netlink->end(),
                [](const NetlinkObs& a, const NetlinkObs& b) { return a.pool < b.pool; });
    }
    if (const json* f = Get(o, "flags")) {
      out.flags = {.warn = Bool(*f, "warn").value_or(false),
                   .bug = Bool(*f, "bug").value_or(false),
                   .stalled = Bool(*f, "stalled").value_or(false),
                   .bad_page = Bool(*f, "bad_page").value_or(false),
                   .oops = Bool(*f, "oops").value_or(false)};
    }
    out.held_pfns = HeldPfns(o);
    if (const auto t = o.find("uptime_s"); t != o.end() && t->is_number()) {
      out.t_s = t->get<double>();
    }
    run.ops.push_back(std::move(out));
  }
  if (!run.ops.empty() && run.ops[0].t_s) {
    const double t0 = *run.ops[0].t_s;
    for (OpObs& op : run.ops) {
      if (op.t_s) *op.t_s -= t0;
    }
  }
  LinkSamePfns(run.ops);
  return run;
}

absl::StatusOr<KernelRun> ReadKernelObservation(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileText(path);
  if (!text.ok()) return text.status();
  return ParseKernelObservation(path, *text);
}

}  // namespace ppsim::oracle
