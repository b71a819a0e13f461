#include "client/oracle/from_scenario.h"

#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/chaos/bindings.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/scenario_loader.h"
#include "client/lib/op_line.h"
#include "client/oracle/model_run.h"
#include "client/oracle/ops_file.h"
#include "server/convert/op_convert.h"
#include "server/sim/ops.h"

namespace ppsim::oracle {

namespace {

namespace op = sim::op;

// Not an op the module has (or one it has only in part): the scenario cannot be expressed.
absl::Status No(absl::string_view why) { return absl::UnimplementedError(why); }

// What the translation keeps of a device: its oracle indices and the driver bound to it.
struct Dev {
  int device = 0;  // add_device index
  int netdev = 0;  // 0 = no driver bound
  int napi = 0;
  int pool = 0;    // the RX queue's pool while up, else 0
  bool up = false;
  op::BindDriver bind;
};

class Translator {
 public:
  explicit Translator(const chaos::Scenario& s) : s_(s) {}

  absl::StatusOr<CatalogSequence> Run() {
    CatalogSequence out{.scenario = s_.name, .name = absl::StrCat("catalog-", s_.name)};
    Notes(out);
    if (s_.chaos) return Fail(s_.chaos->loc, "chaos", "", No("a chaos section: generated ops "
                                                            "and faults, the oracle runs fixed "
                                                            "sequences"));
    const std::string strategy = s_.strategies.empty() ? "" : s_.strategies[0];
    std::unique_ptr<chaos::LabTarget> target = chaos::EmbeddedTarget();
    absl::StatusOr<std::unique_ptr<chaos::LabSession>> lab =
        target->NewLab(s_.name, chaos::LabConfigFor(s_, strategy));
    if (!lab.ok()) return lab.status();
    chaos::Bindings bindings;
    for (size_t i = 0; i < s_.steps.size(); ++i) {
      const chaos::Step& step = s_.steps[i];
      const std::string what = absl::StrCat("steps[", i, "]");
      for (uint32_t k = 0; k < step.repeat; ++k) {
        absl::StatusOr<std::string> line = bindings.Resolve(step.op_line);
        if (!line.ok()) return Fail(step.loc, what, step.op_line, line.status());
        absl::StatusOr<v1::Op> proto = client::ParseOpLine(*line);
        if (!proto.ok()) return Fail(step.loc, what, step.op_line, proto.status());
        absl::StatusOr<sim::Op> o = convert::OpFromProto(*proto);
        if (!o.ok()) return Fail(step.loc, what, step.op_line, o.status());
        absl::StatusOr<chaos::Applied> a = (*lab)->Apply(*proto);
        if (!a.ok()) return a.status();
        if (!a->rejected.ok()) {
          return Fail(step.loc, what, step.op_line,
                      absl::InvalidArgumentError(absl::StrCat("the model rejects it: ",
                                                              a->rejected.message())));
        }
        if (!step.as.empty() && k + 1 == step.repeat) bindings.Bind(step.as, a->result);
        std::vector<std::string> lines;
        if (absl::Status st = Translate(*o, a->result, lines); !st.ok()) {
          return Fail(step.loc, what, step.op_line, st);
        }
        out.lines.push_back(absl::StrCat("# ", what, ": ", step.op_line));
        for (std::string& l : lines) {
          steps_.push_back({step.loc, what, step.op_line});
          out.lines.push_back(std::move(l));
          ++out.ops;
        }
      }
    }
    if (s_.liveness) {
      out.lines.push_back(absl::StrCat("# liveness: advance ", s_.liveness->advance_ns,
                                       " ns (liveness_check is the model's verdict)"));
      out.lines.push_back(absl::StrCat("advance_time ns=", s_.liveness->advance_ns));
      steps_.push_back({s_.liveness->loc, "liveness", "liveness_check"});
      ++out.ops;
    }
    if (absl::Status st = Check(out); !st.ok()) return st;
    return out;
  }

 private:
  struct StepRef {
    chaos::SourceLoc loc;
    std::string what;
    std::string line;
  };

  absl::Status Fail(const chaos::SourceLoc& loc, absl::string_view what, absl::string_view line,
                    const absl::Status& why) const {
    const std::string where = absl::StrCat(loc.file.empty() ? s_.file : loc.file, ":", loc.line,
                                           ": scenario ", s_.name, ": ", what,
                                           line.empty() ? "" : absl::StrCat(": \"", line, "\""));
    return absl::Status(why.code(), absl::StrCat(where, ": ", why.message()));
  }

  void Notes(CatalogSequence& out) const {
    out.notes.push_back(absl::StrCat("catalog scenario ", s_.name, " (",
                                     std::filesystem::path(s_.file).filename().string(),
                                     "), translated by ppctl oracle-from-scenario"));
    if (!s_.description.empty()) {
      out.notes.push_back(absl::StrReplaceAll(s_.description, {{"\n", " "}}));
    }
    std::string model = absl::StrCat("its model profile ", s_.profile.empty() ? "(default)" : s_.profile);
    for (const auto& [k, v] : s_.lab.profile_switches) absl::StrAppend(&model, ", ", k, "=", v);
    out.notes.push_back(absl::StrCat(model, ": not part of the sequence; ppctl oracle compares "
                                             "each kernel under that kernel's own profile"));
    if (!s_.strategies.empty()) {
      out.notes.push_back(absl::StrCat("strategies ", absl::StrJoin(s_.strategies, ", "),
                                       ": no strategy= (the kernel has one teardown, the "
                                       "profile's)"));
    }
    if (s_.lab.iommu_model || s_.lab.strict) {
      out.notes.push_back(absl::StrCat("lab iommu ", s_.lab.iommu_model.value_or("(default)"),
                                       ": the oracle's guest maps with dma-direct"));
    }
  }

  // @process:0 → @process, @softirq:0 → @bh.
  static absl::StatusOr<std::string> Ctx(const sim::ExecContext& c) {
    if (c.cpu != 0) {
      return No(absl::StrCat("CPU ", c.cpu, ": the oracle's guest has one CPU (-smp 1)"));
    }
    if (c.kind == sim::CtxKind::kProcess) return std::string("@process");
    if (c.kind == sim::CtxKind::kSoftirq) return std::string("@bh");
    return No("workqueue context: the module runs ops in process, BH or NAPI context");
  }

  absl::StatusOr<int> Page(const sim::PageHandle& h) const {
    auto it = pages_.find({h.pfn, h.generation});
    if (it == pages_.end()) {
      return No(absl::StrCat("page ", absl::Hex(h.pfn), "/", h.generation,
                             " is not one a pool handed out (the module has only pool pages)"));
    }
    return it->second;
  }
  absl::StatusOr<int> Pool(uint32_t id) const {
    auto it = pools_.find(id);
    if (it == pools_.end()) return No(absl::StrCat("pool ", id, " is not one this sequence made"));
    return it->second;
  }
  absl::StatusOr<int> Skb(uint32_t id) const {
    auto it = skbs_.find(id);
    if (it == skbs_.end()) return No(absl::StrCat("skb ", id, " is not one this sequence made"));
    return it->second;
  }
  absl::StatusOr<Dev*> Device(uint32_t id) {
    auto it = devs_.find(id);
    if (it == devs_.end()) return No(absl::StrCat("device ", id, " was not added by the scenario"));
    return &it->second;
  }
  void Made(const v1::OpResult& r) {
    for (uint32_t id : r.skbs()) skbs_[id] = ++nskbs_;
  }

  // ndo_open as NetdevOpen: NAPI enabled, then the queue's pool.
  absl::Status Open(Dev& d, const v1::OpResult& r, std::vector<std::string>& out) {
    if (r.pools_size() != 1) {
      return absl::InternalError(absl::StrCat("the model made ", r.pools_size(), " pools"));
    }
    const op::BindDriver& b = d.bind;
    out.push_back(absl::StrCat("napi_enable napi=", d.napi));
    std::string create = absl::StrCat("page_pool_create");
    if (b.flags & 1) absl::StrAppend(&create, " device=", d.device);
    absl::StrAppend(&create, " flags=", b.flags);
    if (b.order != 0) absl::StrAppend(&create, " order=", b.order);
    absl::StrAppend(&create, " pool_size=", b.pool_size == 0 ? 1024 : b.pool_size);
    if (b.nid != -1) absl::StrAppend(&create, " nid=", b.nid);
    if (b.dma_dir != sim::DmaDir::kFromDevice) {
      absl::StrAppend(&create, " dma_dir=", static_cast<int>(b.dma_dir));
    }
    if (b.max_len != 0) absl::StrAppend(&create, " max_len=", b.max_len);
    if (b.offset != 0) absl::StrAppend(&create, " offset=", b.offset);
    absl::StrAppend(&create, " napi=", d.napi, " netdev=", d.netdev);
    out.push_back(create);
    d.pool = ++npools_;
    pools_[r.pools(0)] = d.pool;
    d.up = true;
    return absl::OkStatus();
  }
  // ndo_stop as NetdevStop: NAPI disabled, then the pool destroyed.
  void Stop(Dev& d, std::vector<std::string>& out) {
    if (!d.up) return;
    out.push_back(absl::StrCat("napi_disable napi=", d.napi));
    out.push_back(absl::StrCat("page_pool_destroy pool=", d.pool));
    d.up = false;
    d.pool = 0;
  }

  absl::Status Translate(const sim::Op& o, const v1::OpResult& r, std::vector<std::string>& out) {
    absl::StatusOr<std::string> ctx = Ctx(o.ctx);
    if (!ctx.ok()) return ctx.status();
    const std::string at = " " + *ctx;
    const sim::OpBody& b = o.body;
    if (const auto* x = std::get_if<op::AddDevice>(&b)) {
      if (x->numa_node != 0) return No("numa_node: the module's platform devices are on node 0");
      if (x->needs_sync) return No("needs_sync: dma-direct on the guest never bounces");
      if (x->dma_mask_bits != 64) return No("dma_mask_bits: the module's devices have 64");
      out.push_back("add_device");
      devs_[r.device()] = Dev{.device = ++ndevices_};
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::BindDriver>(&b)) {
      absl::StatusOr<Dev*> d = Device(x->device);
      if (!d.ok()) return d.status();
      if (x->driver != "generic") return No("driver: only a generic driver (netdevsim's own "
                                            "ops are not the module's)");
      if (x->rx_queues != 1) return No("rx_queues: the model enables a netdev's NAPIs together, "
                                       "the oracle one at a time (one queue only)");
      if (x->xdp) return No("xdp: XDP memory models");
      (*d)->bind = *x;
      (*d)->netdev = ++nnetdevs_;
      (*d)->napi = ++nnapis_;
      out.push_back("netdev_register");
      out.push_back(absl::StrCat("napi_add netdev=", (*d)->netdev));
      if (x->up) return Open(**d, r, out);
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::NetdevUp>(&b)) {
      absl::StatusOr<Dev*> d = Device(x->device);
      if (!d.ok()) return d.status();
      if ((*d)->up) return absl::OkStatus();  // the model's no-op
      return Open(**d, r, out);
    }
    if (const auto* x = std::get_if<op::NetdevDown>(&b)) {
      absl::StatusOr<Dev*> d = Device(x->device);
      if (!d.ok()) return d.status();
      Stop(**d, out);
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::UnbindDriver>(&b)) {
      absl::StatusOr<Dev*> d = Device(x->device);
      if (!d.ok()) return d.status();
      Stop(**d, out);
      out.push_back(absl::StrCat("netdev_unregister netdev=", (*d)->netdev));
      (*d)->netdev = 0;
      (*d)->napi = 0;
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolCreate>(&b)) {
      if (x->napi != 0 || x->netdev != 0 || !x->strategy.empty()) {
        return No("page_pool_create with napi=, netdev= or strategy=: not translated (no "
                  "catalog scenario needs it)");
      }
      std::string create = "page_pool_create";
      if (x->device != 0) {
        absl::StatusOr<Dev*> d = Device(x->device);
        if (!d.ok()) return d.status();
        absl::StrAppend(&create, " device=", (*d)->device);
      }
      absl::StrAppend(&create, " flags=", x->flags, " order=", x->order, " pool_size=",
                      x->pool_size == 0 ? 1024 : x->pool_size, " nid=", x->nid, " dma_dir=",
                      static_cast<int>(x->dma_dir), " max_len=", x->max_len, " offset=",
                      x->offset);
      out.push_back(create);
      pools_[r.pool()] = ++npools_;
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolDestroy>(&b)) {
      absl::StatusOr<int> p = Pool(x->pool);
      if (!p.ok()) return p.status();
      for (auto& [id, d] : devs_) {
        if (d.pool == *p) return No("page_pool_destroy of a driver's pool: the driver would "
                                    "destroy it again at ndo_stop");
      }
      out.push_back(absl::StrCat("page_pool_destroy pool=", *p));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolAllocPages>(&b)) {
      absl::StatusOr<int> p = Pool(x->pool);
      if (!p.ok()) return p.status();
      out.push_back(absl::StrCat("page_pool_alloc_pages pool=", *p, " count=", x->count, at));
      for (const v1::PageRef& pr : r.pages()) {
        pages_[{pr.page().pfn(), pr.page().generation()}] = ++npages_;
      }
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolPutPage>(&b)) {
      absl::StatusOr<int> pg = Page(x->page);
      if (!pg.ok()) return pg.status();
      std::string l = absl::StrCat("page_pool_put_page page=", *pg);
      if (x->pool != 0) {
        absl::StatusOr<int> p = Pool(x->pool);
        if (!p.ok()) return p.status();
        absl::StrAppend(&l, " pool=", *p);
      }
      absl::StrAppend(&l, " allow_direct=", x->allow_direct ? "true" : "false");
      if (x->dma_sync_size != -1) absl::StrAppend(&l, " dma_sync_size=", x->dma_sync_size);
      out.push_back(l + at);
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolPutPageBulk>(&b)) {
      std::vector<int> idx;
      for (const sim::PageHandle& h : x->pages) {
        absl::StatusOr<int> pg = Page(h);
        if (!pg.ok()) return pg.status();
        idx.push_back(*pg);
      }
      out.push_back(absl::StrCat("page_pool_put_page_bulk pages=", absl::StrJoin(idx, ","), at));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolUpdateNid>(&b)) {
      absl::StatusOr<int> p = Pool(x->pool);
      if (!p.ok()) return p.status();
      out.push_back(absl::StrCat("page_pool_update_nid pool=", *p, " nid=", x->nid, at));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::PagePoolDisableDirectRecycling>(&b)) {
      absl::StatusOr<int> p = Pool(x->pool);
      if (!p.ok()) return p.status();
      out.push_back(absl::StrCat("page_pool_disable_direct_recycling pool=", *p, at));
      return absl::OkStatus();
    }
    if (std::holds_alternative<op::GetPage>(b) || std::holds_alternative<op::PutPage>(b)) {
      const bool get = std::holds_alternative<op::GetPage>(b);
      absl::StatusOr<int> pg =
          Page(get ? std::get<op::GetPage>(b).page : std::get<op::PutPage>(b).page);
      if (!pg.ok()) return pg.status();
      out.push_back(absl::StrCat(get ? "get_page" : "put_page", " page=", *pg, at));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::AdvanceTime>(&b)) {
      out.push_back(absl::StrCat("advance_time ns=", x->ns));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::SkbBuild>(&b)) {
      std::vector<std::string> frags;
      for (const op::FragArg& f : x->frags) {
        absl::StatusOr<int> pg = Page(f.page);
        if (!pg.ok()) return pg.status();
        std::string s = absl::StrCat(*pg);
        if (f.offset != 0) absl::StrAppend(&s, "+", f.offset);
        if (f.len != 0) absl::StrAppend(&s, ":", f.len);
        frags.push_back(s);
      }
      std::string l = "skb_build";
      if (!frags.empty()) absl::StrAppend(&l, " frags=", absl::StrJoin(frags, ","));
      if (x->head.pfn != 0 || x->head.generation != 0) {
        absl::StatusOr<int> pg = Page(x->head);
        if (!pg.ok()) return pg.status();
        absl::StrAppend(&l, " head=", *pg);
      }
      if (!x->recycle) absl::StrAppend(&l, " recycle=false");
      out.push_back(l + at);
      Made(r);
      return absl::OkStatus();
    }
    // skb ops naming skbs
    auto skb = [&](uint32_t id) -> absl::StatusOr<int> { return Skb(id); };
    auto one = [&](absl::string_view name, uint32_t id, std::string extra = "") -> absl::Status {
      absl::StatusOr<int> s = skb(id);
      if (!s.ok()) return s.status();
      out.push_back(absl::StrCat(name, " skb=", *s, extra, at));
      Made(r);
      return absl::OkStatus();
    };
    if (const auto* x = std::get_if<op::SkbClone>(&b)) return one("skb_clone", x->skb);
    if (const auto* x = std::get_if<op::PskbExpandHead>(&b)) return one("pskb_expand_head", x->skb);
    if (const auto* x = std::get_if<op::SkbSegment>(&b)) return one("skb_segment", x->skb);
    if (const auto* x = std::get_if<op::KfreeSkb>(&b)) return one("kfree_skb", x->skb);
    if (const auto* x = std::get_if<op::SkbDeferFree>(&b)) {
      return one("skb_attempt_defer_free", x->skb);
    }
    if (const auto* x = std::get_if<op::NapiConsumeSkb>(&b)) {
      return one("napi_consume_skb", x->skb, absl::StrCat(" budget=", x->budget));
    }
    if (const auto* x = std::get_if<op::SkbSplit>(&b)) {
      return one("skb_split", x->skb, absl::StrCat(" at=", x->at, " cut=", x->cut));
    }
    if (const auto* x = std::get_if<op::SkbFragRef>(&b)) {
      return one("skb_frag_ref", x->skb, absl::StrCat(" frag=", x->frag));
    }
    if (const auto* x = std::get_if<op::SkbShift>(&b)) {
      absl::StatusOr<int> t = skb(x->tgt), s = skb(x->skb);
      if (!t.ok()) return t.status();
      if (!s.ok()) return s.status();
      out.push_back(absl::StrCat("skb_shift tgt=", *t, " skb=", *s, " count=", x->count,
                                 " partial=", x->partial, at));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::SkbTryCoalesce>(&b)) {
      if (x->racing_clone != 0) {
        return No("racing_clone: another CPU freeing a clone meanwhile needs two CPUs");
      }
      absl::StatusOr<int> t = skb(x->to), f = skb(x->from);
      if (!t.ok()) return t.status();
      if (!f.ok()) return f.status();
      out.push_back(absl::StrCat("skb_try_coalesce to=", *t, " from=", *f, at));
      return absl::OkStatus();
    }
    if (const auto* x = std::get_if<op::SkbGroReceive>(&b)) {
      absl::StatusOr<int> p = skb(x->p), s = skb(x->skb);
      if (!p.ok()) return p.status();
      if (!s.ok()) return s.status();
      out.push_back(absl::StrCat("skb_gro_receive p=", *p, " skb=", *s, at));
      return absl::OkStatus();
    }
    // The module's holder is one socket queue on CPU 0 (no timed holders: defrag, qdisc, ...).
    auto socket_only = [](const std::string& holder, uint32_t cpu) {
      if (holder == "socket" && cpu == 0) return absl::OkStatus();
      return No(absl::StrCat("holder=", holder, " cpu=", cpu, ": the module's holder is one "
                             "socket queue on CPU 0 (no timed holders)"));
    };
    if (const auto* x = std::get_if<op::StackHold>(&b)) {
      if (absl::Status st = socket_only(x->holder, x->cpu); !st.ok()) return st;
      return one("stack_hold", x->skb, " holder=socket cpu=0");
    }
    if (const auto* x = std::get_if<op::StackRelease>(&b)) {
      if (absl::Status st = socket_only(x->holder, x->cpu); !st.ok()) return st;
      out.push_back(absl::StrCat("stack_release holder=socket cpu=0 count=", x->count, at));
      return absl::OkStatus();
    }
    return No(absl::StrCat("no oracle op for ", sim::OpName(b)));
  }

  // The translation on the oracle's model: an op refused there is one the module refuses.
  absl::Status Check(const CatalogSequence& seq) {
    absl::StatusOr<OpsFile> f = ParseOpsFile(seq.name + ".ops", seq.Text());
    if (!f.ok()) return absl::InternalError(f.status().message());
    absl::StatusOr<std::unique_ptr<ModelRun>> run = ModelRun::Create("v6.12", *f);
    if (!run.ok()) return run.status();
    for (size_t i = 0; i < f->ops.size(); ++i) {
      const StepRef& st = steps_.at(i);
      absl::StatusOr<OpObs> obs = (*run)->Apply(f->ops[i], static_cast<int>(i));
      if (!obs.ok()) return Fail(st.loc, st.what, st.line, No(obs.status().message()));
      if (obs->refused) {
        return Fail(st.loc, st.what, st.line,
                    No(absl::StrCat("\"", f->ops[i].text, "\": the module refuses it: ",
                                    obs->err)));
      }
    }
    return absl::OkStatus();
  }

  const chaos::Scenario& s_;
  std::map<uint32_t, Dev> devs_;
  std::map<uint32_t, int> pools_;
  std::map<std::pair<uint64_t, uint32_t>, int> pages_;
  std::map<uint32_t, int> skbs_;
  int ndevices_ = 0, nnetdevs_ = 0, nnapis_ = 0, npools_ = 0, npages_ = 0, nskbs_ = 0;
  std::vector<StepRef> steps_;  // per op line, the step it came from
};

}  // namespace

std::string CatalogSequence::Text() const {
  std::string out;
  for (const std::string& n : notes) absl::StrAppend(&out, "# ", n, "\n");
  for (const std::string& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

absl::StatusOr<CatalogSequence> TranslateScenario(const chaos::Scenario& s) {
  return Translator(s).Run();
}

absl::StatusOr<CatalogSequence> TranslateScenarioFile(const std::string& path) {
  absl::StatusOr<chaos::Scenario> s = chaos::LoadScenarioFile(path);
  if (!s.ok()) return s.status();
  return TranslateScenario(*s);
}

}  // namespace ppsim::oracle
