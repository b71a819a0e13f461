#include "client/oracle/model_run.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/sim/kernel_view.h"

namespace ppsim::oracle {

namespace {

absl::Status Refused(absl::string_view why) { return absl::FailedPreconditionError(why); }

// dma_dir as the module reads it (ppo_pool.c dma_dir_arg); the numbers are enum
// dma_data_direction's, which sim::DmaDir shares.
sim::DmaDir DmaDirOf(const OracleOp& o) {
  const std::string* v = o.Find("dma_dir");
  if (v == nullptr) return sim::DmaDir::kFromDevice;
  const std::string s = absl::AsciiStrToLower(*v);
  if (s == "bidirectional" || s == "dma_bidirectional") return sim::DmaDir::kBidirectional;
  if (s == "to_device" || s == "dma_to_device") return sim::DmaDir::kToDevice;
  if (s == "from_device" || s == "dma_from_device") return sim::DmaDir::kFromDevice;
  return static_cast<sim::DmaDir>(o.Int("dma_dir", 2));
}

// The module's table holds 4096 pages, a bulk at most 64 (ppo.h, ppo_pool.c).
constexpr int64_t kMaxPages = 4096;
constexpr size_t kMaxBulk = 64;

}  // namespace

sim::LabConfig OracleLabConfig(const std::string& profile) {
  sim::LabConfig c;
  c.ram_bytes = uint64_t{1} << 30;  // -m 1G
  c.numa_nodes = 2;                 // two nodes of 512 MB, node 1 without CPUs
  c.cpus = 1;                       // -smp 1
  c.iommu_model = sim::IommuModel::kPassthrough;  // -nic none, platform devices: dma-direct
  c.profile = profile;
  return c;
}

absl::StatusOr<std::unique_ptr<ModelRun>> ModelRun::Create(const std::string& profile,
                                                           const OpsFile& file) {
  absl::StatusOr<std::unique_ptr<sim::Lab>> lab = sim::Lab::Create(OracleLabConfig(profile));
  if (!lab.ok()) return lab.status();
  std::map<int, int> napis;
  for (const OracleOp& o : file.ops) {
    if (o.name == "napi_add") ++napis[static_cast<int>(o.Int("netdev", 0))];
  }
  auto run = std::unique_ptr<ModelRun>(new ModelRun(*std::move(lab), std::move(napis)));
  // x86 never hands out the lowest pages (arch/x86/kernel/setup.c reserves low memory,
  // CONFIG_X86_RESERVE_LOW = 64 KiB), while the model's node 0 starts its buddy allocator at
  // pfn 0, which dma-direct would map at bus address 0, the model's "no mapping". Reserve them.
  if (absl::Status s = run->Model({}, sim::op::AllocPage{.nid = 0, .order = 4}); !s.ok()) {
    return s;
  }
  run->lab_->TakeEvents();  // whatever creation logged is no op's
  run->start_ns_ = run->lab_->now();
  return run;
}

absl::StatusOr<OpObs> ModelRun::Apply(const OracleOp& o, int index) {
  std::vector<int> touched;
  touched_skbs_.clear();
  const uint64_t events_before = lab_->kernel_view().page_events_appended();
  const absl::Status s = Do(o, touched);
  if (poll_.has_value()) {  // the poll callback returns: napi_complete_done
    const absl::Status done = Model(sim::ExecContext{sim::CtxKind::kSoftirq, 0},
                                    sim::op::NapiCompleteDone{.device = poll_->device,
                                                              .queue = poll_->queue});
    poll_.reset();
    if (!done.ok()) return done;
  }
  if (absl::IsUnimplemented(s)) {
    return absl::UnimplementedError(
        absl::StrCat("line ", o.line, ": ", o.text, ": the model cannot express it: ",
                     s.message()));
  }
  OpObs obs = Observe(o, index, s, touched);
  obs.t_s = static_cast<double>(lab_->now() - start_ns_) / 1e9;
  // page_pool_state_hold's counterpart: the frames that entered a pool during the op.
  lab_->kernel_view().ForEachPageEventAfter(events_before, [&](const sim::PageEvent& e) {
    if (e.kind == sim::PageEventKind::kPoolHold) obs.held_pfns.push_back(e.pfn);
  });
  return obs;
}

absl::Status ModelRun::Do(const OracleOp& o, std::vector<int>& touched) {
  const std::string& n = o.name;
  if (n == "netdev_register") return NetdevRegister();
  if (n == "netdev_unregister") return NetdevUnregister(o);
  if (n == "napi_add") return NapiAdd(o);
  if (n == "napi_enable" || n == "napi_disable") return NapiSwitch(o, n == "napi_enable");
  if (n == "napi_del") return NapiDel(o);
  if (n == "add_device") {
    sim::OpResult r;
    if (absl::Status s = Model({}, sim::op::AddDevice{}, &r); !s.ok()) return s;
    map_.AddDevice(r.device);
    return absl::OkStatus();
  }
  if (n == "page_pool_create") return PoolCreate(o);
  if (n == "page_pool_destroy") return PoolDestroy(o, touched);
  if (n == "page_pool_alloc_pages") return Alloc(o, touched);
  if (n == "page_pool_put_page") return Put(o, touched);
  if (n == "page_pool_put_page_bulk") return PutBulk(o, touched);
  if (n == "page_pool_update_nid" || n == "page_pool_disable_direct_recycling") {
    return PoolControl(o);
  }
  if (n == "get_page" || n == "put_page") return PageRef(o, touched);
  if (n == "advance_time" || n == "observe") {
    if (n == "advance_time") {  // the runner sleeps, then sends `observe`
      const absl::Status s = Model({}, sim::op::AdvanceTime{.ns = o.DurationNs("ns")});
      if (!s.ok()) return s;
    }
    touched = map_.HeldPages();  // ppo_main.c op_observe: held pages, then every skb held
    for (size_t i = 0; i < skbs_.size(); ++i) {
      const sim::Skb* skb = lab_->kernel_view().skb(skbs_[i]);
      if (skb != nullptr && skb->on_frag_list == 0) {
        TouchSkb(static_cast<int>(i) + 1, touched);
      }
    }
    return absl::OkStatus();
  }
  if (absl::StartsWith(n, "skb_") || n == "pskb_expand_head" || n == "kfree_skb" ||
      n == "napi_consume_skb" || absl::StartsWith(n, "stack_")) {
    return SkbOp(o, touched);
  }
  return absl::UnimplementedError(absl::StrCat("no translation for ", n));
}

absl::Status ModelRun::Model(sim::ExecContext ctx, sim::OpBody body, sim::OpResult* result) {
  absl::StatusOr<sim::OpResult> r = lab_->Apply(sim::Op{.ctx = ctx, .body = std::move(body)});
  // UNIMPLEMENTED from the lab is a refusal by the profile (a function this kernel lacks, as
  // the module's -EOPNOTSUPP), not an op the translation cannot express.
  if (absl::IsUnimplemented(r.status())) {
    return absl::FailedPreconditionError(r.status().message());
  }
  if (!r.ok()) return r.status();
  if (result != nullptr) *result = *std::move(r);
  return absl::OkStatus();
}

// alloc_netdev + register_netdev of an Ethernet device that is never opened: the model's
// netdevs come with a driver bound to a device, so a generic driver with no pool flags and
// the netdev down. Its pools (created by netdev_up) are never the sequence's.
absl::Status ModelRun::NetdevRegister() {
  sim::OpResult dev;
  if (absl::Status s = Model({}, sim::op::AddDevice{}, &dev); !s.ok()) return s;
  const int index = map_.netdevs() + 1;
  const uint32_t queues = std::max(1, napis_per_netdev_[index]);
  sim::OpResult bound;
  if (absl::Status s = Model({}, sim::op::BindDriver{.device = dev.device, .rx_queues = queues,
                                                 .flags = 0, .up = false},
                             &bound);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<sim::DeviceInfo> info = lab_->GetDevice(dev.device);
  if (!info.ok()) return info.status();
  map_.AddNetdev({.device = dev.device, .ifindex = bound.ifindex, .model_napis = info->napis});
  return absl::OkStatus();
}

absl::StatusOr<NetdevEntry*> ModelRun::RegisteredNetdev(int64_t index) {
  absl::StatusOr<NetdevEntry*> nd = map_.Netdev(index);
  if (nd.ok() && !(*nd)->registered) {
    return Refused(absl::StrCat("netdev ", index, " is not registered"));
  }
  return nd;
}

// ppo_net.c ppo_netdev_unregister: refused while one of its NAPIs is enabled; otherwise the
// driver's remove, which unregisters the netdev (page_pool_unreg_netdev moves its pools to lo).
absl::Status ModelRun::NetdevUnregister(const OracleOp& o) {
  const int64_t index = o.Int("netdev", 0);
  absl::StatusOr<NetdevEntry*> nd = RegisteredNetdev(index);
  if (!nd.ok()) return nd.status();
  for (int napi : (*nd)->napis) {
    if (map_.Napi(napi).value()->enabled) {
      return Refused(absl::StrCat("napi ", napi, " of netdev ", index,
                                  " is still enabled: napi_disable first"));
    }
  }
  const absl::Status s = Model({}, sim::op::UnbindDriver{.device = (*nd)->device});
  if (!s.ok()) return s;
  (*nd)->registered = false;
  for (int napi : (*nd)->napis) map_.Napi(napi).value()->added = false;  // free_netdev
  return absl::OkStatus();
}

absl::Status ModelRun::NapiAdd(const OracleOp& o) {
  const int64_t index = o.Int("netdev", 0);
  absl::StatusOr<NetdevEntry*> nd = RegisteredNetdev(index);
  if (!nd.ok()) return nd.status();
  if ((*nd)->napis.size() >= (*nd)->model_napis.size()) {
    return absl::InternalError(absl::StrCat("netdev ", index, " has no model NAPI left"));
  }
  const int napi = map_.AddNapi({.id = (*nd)->model_napis[(*nd)->napis.size()],
                                 .netdev = static_cast<int>(index)});
  (*nd)->napis.push_back(napi);
  return absl::OkStatus();
}

// napi_enable / napi_disable: the model enables a netdev's NAPIs at ndo_open and disables them
// at ndo_stop, all queues together (server/sim/device.cc NetdevOpen, NetdevStop); polls are
// separate ops (Context).
absl::Status ModelRun::NapiSwitch(const OracleOp& o, bool enable) {
  const int64_t index = o.Int("napi", 0);
  absl::StatusOr<NapiEntry*> napi = map_.Napi(index);
  if (!napi.ok()) return napi.status();
  if (!(*napi)->added) return Refused(absl::StrCat("napi ", index, " was deleted"));
  if ((*napi)->enabled == enable) {
    return Refused(
        absl::StrCat("napi ", index, enable ? " is already enabled" : " is not enabled"));
  }
  const NetdevEntry* nd = map_.Netdev((*napi)->netdev).value();
  if (nd->model_napis.size() > 1) {
    return absl::UnimplementedError(absl::StrCat(
        "netdev ", (*napi)->netdev, " has ", nd->model_napis.size(),
        " NAPIs and the model enables and disables a netdev's NAPIs together (netdev_up/down)"));
  }
  const absl::Status s = enable ? Model({}, sim::op::NetdevUp{.device = nd->device})
                                : Model({}, sim::op::NetdevDown{.device = nd->device});
  if (s.ok()) (*napi)->enabled = enable;
  return s;
}

// netif_napi_del: nothing the model keeps changes (a disabled NAPI is polled nowhere).
absl::Status ModelRun::NapiDel(const OracleOp& o) {
  const int64_t index = o.Int("napi", 0);
  absl::StatusOr<NapiEntry*> napi = map_.Napi(index);
  if (!napi.ok()) return napi.status();
  if (!(*napi)->added) return Refused(absl::StrCat("napi ", index, " was deleted"));
  if ((*napi)->enabled) {
    return Refused(absl::StrCat("napi ", index, " is enabled: napi_disable first"));
  }
  (*napi)->added = false;
  return absl::OkStatus();
}

absl::Status ModelRun::PoolCreate(const OracleOp& o) {
  sim::op::PagePoolCreate c{.flags = static_cast<uint32_t>(o.Int("flags", 0)),
                       .order = static_cast<uint32_t>(o.Int("order", 0)),
                       .pool_size = static_cast<uint32_t>(o.Int("pool_size", 256)),
                       .nid = static_cast<int32_t>(o.Int("nid", -1)),
                       .dma_dir = DmaDirOf(o),
                       .max_len = static_cast<uint32_t>(o.Int("max_len", 0)),
                       .offset = static_cast<uint32_t>(o.Int("offset", 0))};
  if (const std::string* s = o.Find("strategy")) c.strategy = *s;
  if (const int64_t d = o.Int("device", 0); d != 0) {
    absl::StatusOr<sim::DeviceId> dev = map_.Device(d);
    if (!dev.ok()) return dev.status();
    c.device = *dev;
  }
  const int napi = static_cast<int>(o.Int("napi", 0));
  if (napi != 0) {
    absl::StatusOr<NapiEntry*> e = map_.Napi(napi);
    if (!e.ok()) return e.status();
    c.napi = (*e)->id;
  }
  int netdev = 0;
  if (const std::string* v = o.Find("netdev"); v != nullptr && *v == "lo") {
    netdev = -1;
    c.netdev = sim::kLoopbackIfindex;
  } else if ((netdev = static_cast<int>(o.Int("netdev", 0))) != 0) {
    absl::StatusOr<NetdevEntry*> nd = RegisteredNetdev(netdev);
    if (!nd.ok()) return nd.status();
    c.netdev = (*nd)->ifindex;
  }
  if ((c.flags & 1) && c.device == 0) {
    return absl::InvalidArgumentError("flags: PP_FLAG_DMA_MAP needs device=");
  }
  sim::OpResult r;
  if (absl::Status s = Model({}, c, &r); !s.ok()) return s;
  map_.AddPool({.id = r.pool, .flags = c.flags, .napi = napi, .netdev = netdev});
  return absl::OkStatus();
}

absl::Status ModelRun::PoolDestroy(const OracleOp& o, std::vector<int>& touched) {
  const int index = static_cast<int>(o.Int("pool", 0));
  absl::StatusOr<PoolEntry*> pool = map_.Pool(index);
  if (!pool.ok()) return pool.status();
  if (!(*pool)->live) return Refused(absl::StrCat("pool ", index, " is already destroyed"));
  const absl::Status s = Model({}, sim::op::PagePoolDestroy{.pool = (*pool)->id});
  if (!s.ok()) return s;
  (*pool)->live = false;
  touched = map_.HeldPages(index);  // ppo_pool.c touch_owned_pages
  return absl::OkStatus();
}

absl::Status ModelRun::Alloc(const OracleOp& o, std::vector<int>& touched) {
  const int index = static_cast<int>(o.Int("pool", 0));
  const int64_t count = o.Int("count", 1);
  absl::StatusOr<PoolEntry*> pool = map_.Pool(index);
  if (!pool.ok()) return pool.status();
  if (count < 1 || map_.pages() + count > kMaxPages) {
    return absl::InvalidArgumentError(absl::StrCat("count: ", count, " (the table holds ",
                                                   kMaxPages, " pages, ", map_.pages(), " used)"));
  }
  if (!(*pool)->live) return Refused(absl::StrCat("pool ", index, " is destroyed"));
  absl::StatusOr<sim::ExecContext> ctx = Context(o, OracleCtx::kBh, index);
  if (!ctx.ok()) return ctx.status();
  sim::OpResult r;
  const sim::PoolId id = (*pool)->id;
  if (absl::Status s = Model(*ctx, sim::op::PagePoolAllocPages{.pool = id,
                                                          .count = static_cast<uint32_t>(count)},
                             &r);
      !s.ok()) {
    return s;
  }
  for (const sim::PageRef& p : r.pages) {
    touched.push_back(map_.AddPage({.handle = p.page, .pool = index}));
  }
  if (static_cast<int64_t>(r.pages.size()) < count) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "page_pool_alloc_pages returned NULL after ", r.pages.size(), " pages"));
  }
  return absl::OkStatus();
}

// ppo_pool.c ppo_pool_put: the page must still be held, its pool (or the one named) reachable.
absl::Status ModelRun::Put(const OracleOp& o, std::vector<int>& touched) {
  const int64_t index = o.Int("page", 0);
  absl::StatusOr<PageEntry*> page = map_.Page(index);
  if (!page.ok()) return page.status();
  int pool = static_cast<int>(o.Int("pool", 0));
  if (pool != 0) {
    if (absl::StatusOr<PoolEntry*> p = map_.Pool(pool); !p.ok()) return p.status();
  }
  if (!(*page)->owned) {
    return Refused(absl::StrCat("page ", index,
                                ": the module holds no pool reference to it (returned already)"));
  }
  const bool named = pool != 0;
  if (!named) pool = (*page)->pool;
  if (!Reachable(pool)) return Refused(absl::StrCat("pool ", pool, " may be freed already"));
  touched.push_back(static_cast<int>(index));
  absl::StatusOr<sim::ExecContext> ctx = Context(o, OracleCtx::kProcess, pool);
  if (!ctx.ok()) return ctx.status();
  const absl::Status s =
      Model(*ctx, sim::op::PagePoolPutPage{.pool = named ? map_.pool(pool).id : 0,
                                      .page = (*page)->handle,
                                      .dma_sync_size = o.Int("dma_sync_size", -1),
                                      .allow_direct = o.Bool("allow_direct", false)});
  if (s.ok()) (*page)->owned = false;
  return s;
}

absl::Status ModelRun::PutBulk(const OracleOp& o, std::vector<int>& touched) {
  const std::vector<int64_t> pages = o.IntList("pages");
  if (pages.size() > kMaxBulk) {
    return absl::InvalidArgumentError(absl::StrCat("pages: ", pages.size(), " pages (at most 64)"));
  }
  sim::op::PagePoolPutPageBulk bulk;
  for (int64_t index : pages) {
    absl::StatusOr<PageEntry*> page = map_.Page(index, "pages");
    if (!page.ok()) return page.status();
    if (!(*page)->owned) {
      return Refused(absl::StrCat("page ", index, ": the module holds no pool reference to it"));
    }
    bulk.pages.push_back((*page)->handle);
  }
  for (int64_t index : pages) touched.push_back(static_cast<int>(index));
  absl::StatusOr<sim::ExecContext> ctx =
      Context(o, OracleCtx::kBh, map_.page(static_cast<int>(pages[0])).pool);
  if (!ctx.ok()) return ctx.status();
  const absl::Status s = Model(*ctx, std::move(bulk));
  if (s.ok()) {
    for (int64_t index : pages) map_.Page(index).value()->owned = false;
  }
  return s;
}

// page_pool_update_nid (@bh by default) and page_pool_disable_direct_recycling: a live pool.
absl::Status ModelRun::PoolControl(const OracleOp& o) {
  const int index = static_cast<int>(o.Int("pool", 0));
  absl::StatusOr<PoolEntry*> pool = map_.Pool(index);
  if (!pool.ok()) return pool.status();
  if (!(*pool)->live) return Refused(absl::StrCat("pool ", index, " is destroyed"));
  const sim::PoolId id = (*pool)->id;
  if (o.name == "page_pool_disable_direct_recycling") {
    return Model({}, sim::op::PagePoolDisableDirectRecycling{.pool = id});
  }
  absl::StatusOr<sim::ExecContext> ctx = Context(o, OracleCtx::kBh, index);
  if (!ctx.ok()) return ctx.status();
  return Model(*ctx, sim::op::PagePoolUpdateNid{
                         .pool = id, .nid = static_cast<int32_t>(o.Int("nid", 0))});
}

// get_page / put_page (ppo_pool.c ppo_page_get, ppo_page_put): put_page drops a get_page
// reference, or with force=true the pool's own.
absl::Status ModelRun::PageRef(const OracleOp& o, std::vector<int>& touched) {
  const int64_t index = o.Int("page", 0);
  absl::StatusOr<PageEntry*> page = map_.Page(index);
  if (!page.ok()) return page.status();
  touched.push_back(static_cast<int>(index));
  const sim::PageHandle h = (*page)->handle;
  if (o.name == "get_page") {
    absl::Status s = Model({}, sim::op::GetPage{.page = h});
    if (s.ok()) ++(*page)->extra_refs;
    return s;
  }
  if ((*page)->extra_refs > 0) {
    --(*page)->extra_refs;
  } else if ((*page)->owned && o.Bool("force", false)) {
    (*page)->owned = false;
  } else {
    return Refused(absl::StrCat("page ", index,
                                ": no get_page reference held (force=true drops the pool's)"));
  }
  return Model({}, sim::op::PutPage{.page = h});
}

// ppo_net.c ppo_run_ctx: @napi runs inside the poll of the pool's NAPI, which must be enabled.
absl::StatusOr<sim::ExecContext> ModelRun::Context(const OracleOp& o, OracleCtx def, int pool) {
  const OracleCtx c = o.ctx == OracleCtx::kDefault ? def : o.ctx;
  if (c == OracleCtx::kProcess) return sim::ExecContext{sim::CtxKind::kProcess, 0};
  if (c == OracleCtx::kNapi) {
    const int napi = pool == 0 ? 0 : map_.pool(pool).napi;
    if (napi == 0) return absl::InvalidArgumentError("@napi: the op's pool has no napi");
    const NapiEntry* entry = map_.Napi(napi).value();
    if (!entry->enabled) {
      return Refused(absl::StrCat("@napi: napi ", napi, " is not enabled, its poll cannot run"));
    }
    // ppo_net.c: napi_schedule under local_bh_disable; local_bh_enable runs NET_RX here, whose
    // poll callback runs the op and then napi_complete_done (Apply does that part).
    const NetdevEntry* nd = map_.Netdev(entry->netdev).value();
    const auto at = std::find(nd->model_napis.begin(), nd->model_napis.end(), entry->id);
    const Poll poll{.device = nd->device,
                    .queue = static_cast<uint32_t>(at - nd->model_napis.begin())};
    const sim::ExecContext softirq{sim::CtxKind::kSoftirq, 0};
    if (absl::Status s = Model(softirq, sim::op::NapiSchedule{.device = poll.device,
                                                              .queue = poll.queue});
        !s.ok()) {
      return s;
    }
    poll_ = poll;
  }
  return sim::ExecContext{sim::CtxKind::kSoftirq, 0};
}

// ---- skbs (tests/oracle/kmod/ppo_skb.c) ------------------------------------------------------

int ModelRun::PageIndexOfPfn(sim::Pfn pfn) const {
  for (int p = map_.pages(); p >= 1; --p) {
    if (map_.page(p).handle.pfn == pfn) return p;
  }
  return 0;
}

std::vector<int> ModelRun::SkbPages(sim::SkbId id) {
  std::vector<int> out;
  const sim::KernelView k = lab_->kernel_view();
  const sim::Skb* skb = k.skb(id);
  if (skb == nullptr) return out;
  const sim::SkbShared& sh = k.skb_shinfo(*skb);
  if (sh.head_frag) {
    if (int p = PageIndexOfPfn(sh.head_pfn)) out.push_back(p);
  }
  for (const sim::SkbFrag& f : sh.frags) {
    if (int p = PageIndexOfPfn(f.pfn)) out.push_back(p);
  }
  return out;
}

int ModelRun::SkbPool(sim::SkbId id) {
  const sim::KernelView k = lab_->kernel_view();
  const sim::Skb* skb = k.skb(id);
  if (skb == nullptr) return 0;
  const sim::SkbShared& sh = k.skb_shinfo(*skb);
  int page = sh.frags.empty() ? 0 : PageIndexOfPfn(sh.frags[0].pfn);
  if (page == 0 && sh.head_frag) page = PageIndexOfPfn(sh.head_pfn);
  return page == 0 ? 0 : map_.page(page).pool;
}

// ppo_touch_skb: the skb, and the pages it references now.
void ModelRun::TouchSkb(int index, std::vector<int>& touched) {
  if (std::find(touched_skbs_.begin(), touched_skbs_.end(), index) == touched_skbs_.end()) {
    touched_skbs_.push_back(index);
  }
  for (int p : SkbPages(skbs_[index - 1])) touched.push_back(p);
}

bool ModelRun::Reachable(int pool) {
  if (map_.Reachable(pool)) return true;
  const sim::KernelView k = lab_->kernel_view();
  const sim::PoolId id = map_.pool(pool).id;
  for (const auto& [sid, skb] : k.skbs()) {
    if (skb.on_frag_list != 0) continue;  // the module walks the skbs it holds
    const sim::SkbShared& sh = k.skb_shinfo(skb);
    std::vector<sim::Pfn> pfns;
    if (sh.head_frag) pfns.push_back(sh.head_pfn);
    for (const sim::SkbFrag& f : sh.frags) pfns.push_back(f.pfn);
    for (sim::Pfn pfn : pfns) {
      const sim::Frame* f = k.page(pfn);
      if (f != nullptr && f->refcount > 0 && k.page_is_pp(*f) && f->pool == id) return true;
    }
  }
  return false;
}

absl::StatusOr<sim::SkbId> ModelRun::SkbArg(const OracleOp& o, absl::string_view key,
                                            bool allow_held) {
  const int64_t index = o.Int(key, 0);
  if (index == 0) return absl::InvalidArgumentError(absl::StrCat(key, ": required"));
  if (index < 0 || index > static_cast<int64_t>(skbs_.size())) {
    return absl::NotFoundError(absl::StrCat(key, ": ", index, " is not one of this sequence's (1..",
                                            skbs_.size(), ")"));
  }
  const sim::SkbId id = skbs_[index - 1];
  const sim::Skb* skb = lab_->kernel_view().skb(id);
  if (skb == nullptr) return Refused(absl::StrCat(key, ": skb ", index, " was freed"));
  if (skb->on_frag_list != 0) {
    return Refused(absl::StrCat(key, ": skb ", index, " is chained on a frag_list"));
  }
  if (!allow_held && skb->holder != 0) {
    return Refused(absl::StrCat(key, ": skb ", index, " is in the holder; release it first"));
  }
  return id;
}

// ppo_skb.c ppo_skb_build: the pages must be owned (their pool reference moves in), at most
// MAX_SKB_FRAGS frags, each within its page, no page twice.
absl::Status ModelRun::SkbBuild(const OracleOp& o) {
  const std::vector<OracleFrag> frags = o.Frags("frags");
  const int64_t head = o.Int("head", 0);
  if (frags.size() > sim::MAX_SKB_FRAGS) {
    return absl::InvalidArgumentError("frags: more than MAX_SKB_FRAGS");
  }
  if (frags.empty() && head == 0) {
    return absl::InvalidArgumentError("frags: an skb needs at least one frag or a page head");
  }
  sim::op::SkbBuild b{.recycle = o.Bool("recycle", true)};
  std::vector<int> given;
  for (size_t i = 0; i < frags.size(); ++i) {
    absl::StatusOr<PageEntry*> page = map_.Page(frags[i].page, "frags");
    if (!page.ok()) return page.status();
    const int64_t bytes = int64_t{4096} << lab_->kernel_view().page((*page)->handle.pfn)->order;
    const int64_t len = frags[i].len != 0 ? frags[i].len
                        : frags[i].off < bytes ? bytes - frags[i].off : 0;
    if (len == 0 || frags[i].off + len > bytes) {
      return absl::InvalidArgumentError(absl::StrCat("frags[", i, "]: exceeds the page"));
    }
    for (int g : given) {
      if (g == frags[i].page) return absl::InvalidArgumentError("frags: a page given twice");
    }
    if (frags[i].page == head) return absl::InvalidArgumentError("frags: the head page");
    given.push_back(static_cast<int>(frags[i].page));
    b.frags.push_back({.page = (*page)->handle, .offset = static_cast<uint32_t>(frags[i].off),
                       .len = static_cast<uint32_t>(len)});
  }
  if (head != 0) {
    absl::StatusOr<PageEntry*> page = map_.Page(head, "head");
    if (!page.ok()) return page.status();
    given.push_back(static_cast<int>(head));
    b.head = (*page)->handle;
  }
  for (int g : given) {
    const PageEntry& e = map_.page(g);
    if (!e.owned) {
      return Refused(absl::StrCat("page ", g, ": the module holds no pool reference to it"));
    }
    if (!Reachable(e.pool)) return Refused(absl::StrCat("page ", g, "'s pool may be freed"));
  }
  const int pool = map_.page(given[0]).pool;
  absl::StatusOr<sim::ExecContext> ctx = Context(o, OracleCtx::kBh, pool);
  if (!ctx.ok()) return ctx.status();
  sim::OpResult r;
  if (absl::Status s = Model(*ctx, std::move(b), &r); !s.ok()) return s;
  for (int g : given) map_.Page(g).value()->owned = false;
  for (sim::SkbId id : r.skbs) skbs_.push_back(id);
  touched_skbs_.push_back(static_cast<int>(skbs_.size()));
  return absl::OkStatus();
}

absl::Status ModelRun::SkbOp(const OracleOp& o, std::vector<int>& touched) {
  const std::string& n = o.name;
  struct Finish {  // after the op: the pages of every touched skb (ppo_touch_skb_pages)
    ModelRun* run;
    std::vector<int>* touched;
    ~Finish() {
      const std::vector<int> skbs = run->touched_skbs_;
      for (int s : skbs) run->TouchSkb(s, *touched);
    }
  } finish{this, &touched};
  if (n == "skb_build") return SkbBuild(o);
  const sim::KernelView k = lab_->kernel_view();
  auto index_of = [&](sim::SkbId id) {
    for (size_t i = 0; i < skbs_.size(); ++i) {
      if (skbs_[i] == id) return static_cast<int>(i) + 1;
    }
    return 0;
  };
  auto touch = [&](sim::SkbId id) { TouchSkb(index_of(id), touched); };
  auto made = [&](const sim::OpResult& r) {
    for (sim::SkbId id : r.skbs) {
      skbs_.push_back(id);
      touched_skbs_.push_back(static_cast<int>(skbs_.size()));
    }
  };
  auto ctx_for = [&](sim::SkbId id, OracleCtx def) { return Context(o, def, SkbPool(id)); };
  if (n == "stack_release") {
    const std::string* h = o.Find("holder");
    if ((h != nullptr && *h != "socket") || o.Int("cpu", 0) != 0) {
      return Refused("holder: only holder=socket on cpu 0 (one queue)");
    }
    // the skbs it releases, in order (stack_holder.cc StackRelease: FIFO)
    const int64_t count = o.Int("count", 0);
    int64_t released = 0;
    for (sim::SkbId id : k.holder_queue(sim::HolderKind::kSocket, 0)) {
      if (count != 0 && released++ >= count) break;
      touch(id);
    }
    return Model({}, sim::op::StackRelease{.holder = "socket", .cpu = 0,
                                          .count = static_cast<uint32_t>(o.Int("count", 0))});
  }
  const bool two = n == "skb_shift" || n == "skb_try_coalesce" || n == "skb_gro_receive";
  const char* k1 = n == "skb_shift" ? "tgt" : n == "skb_try_coalesce" ? "to"
                   : n == "skb_gro_receive" ? "p" : "skb";
  const char* k2 = n == "skb_try_coalesce" ? "from" : "skb";
  absl::StatusOr<sim::SkbId> a = SkbArg(o, k1, n == "skb_frag_ref");
  if (!a.ok()) return a.status();
  sim::SkbId b = 0;
  if (two) {
    absl::StatusOr<sim::SkbId> bs = SkbArg(o, k2, false);
    if (!bs.ok()) return bs.status();
    if (*bs == *a) return absl::InvalidArgumentError(absl::StrCat(k2, ": the same skb as ", k1));
    b = *bs;
  }
  const sim::SkbShared& sh = k.skb_shinfo(*k.skb(*a));
  if (n == "skb_frag_ref") {
    const int64_t frag = o.Int("frag", 0);
    if (frag < 0 || frag >= static_cast<int64_t>(sh.frags.size())) {
      return absl::InvalidArgumentError(absl::StrCat("frag: ", frag, " out of range"));
    }
    const int page = PageIndexOfPfn(sh.frags[frag].pfn);
    if (page == 0) return absl::NotFoundError("frag: not one of this sequence's pages");
    touch(*a);
    sim::OpResult r;
    if (absl::Status s = Model({}, sim::op::SkbFragRef{.skb = *a,
                                                       .frag = static_cast<uint32_t>(frag)}, &r);
        !s.ok()) {
      return s;
    }
    ++map_.Page(page).value()->extra_refs;  // the holder's reference: put_page gives it back
    touched.push_back(page);
    return absl::OkStatus();
  }
  if (n == "stack_hold") {
    const std::string* h = o.Find("holder");
    if ((h != nullptr && *h != "socket") || o.Int("cpu", 0) != 0) {
      return Refused("holder: only holder=socket on cpu 0 (one queue)");
    }
    const absl::Status s = Model({}, sim::op::StackHold{.skb = *a, .holder = "socket", .cpu = 0});
    touch(*a);
    return s;
  }
  touch(*a);
  if (b != 0) touch(b);
  if (n == "skb_clone" || n == "pskb_expand_head" || n == "kfree_skb" ||
      n == "skb_attempt_defer_free") {
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kProcess);
    if (!ctx.ok()) return ctx.status();
    sim::OpBody body = sim::op::KfreeSkb{.skb = *a};
    if (n == "skb_clone") body = sim::op::SkbClone{.skb = *a};
    if (n == "pskb_expand_head") body = sim::op::PskbExpandHead{.skb = *a};
    if (n == "skb_attempt_defer_free") body = sim::op::SkbDeferFree{.skb = *a};
    sim::OpResult r;
    const absl::Status s = Model(*ctx, std::move(body), &r);
    if (s.ok()) made(r);
    return s;
  }
  if (n == "napi_consume_skb") {
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kNapi);
    if (!ctx.ok()) return ctx.status();
    return Model(*ctx, sim::op::NapiConsumeSkb{.skb = *a,
                                               .budget = static_cast<uint32_t>(o.Int("budget", 64))});
  }
  if (n == "skb_split") {
    const int64_t at = o.Int("at", 0), cut = o.Int("cut", 0);
    if (at < 0 || at >= static_cast<int64_t>(sh.frags.size())) {
      return absl::InvalidArgumentError(absl::StrCat("at: ", at, " out of range"));
    }
    if (cut < 0 || cut >= sh.frags[at].len) {
      return absl::InvalidArgumentError(absl::StrCat("cut: ", cut, " out of range"));
    }
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kProcess);
    if (!ctx.ok()) return ctx.status();
    sim::OpResult r;
    const absl::Status s = Model(*ctx, sim::op::SkbSplit{.skb = *a,
                                                         .at = static_cast<uint32_t>(at),
                                                         .cut = static_cast<uint32_t>(cut)},
                                 &r);
    if (s.ok()) made(r);
    return s;
  }
  if (n == "skb_shift") {
    const int64_t count = o.Int("count", 1), partial = o.Int("partial", 0);
    const sim::SkbShared& from = k.skb_shinfo(*k.skb(b));
    if (count < 0 || partial < 0 || (count == 0 && partial == 0)) {
      return absl::InvalidArgumentError("count: shifts nothing");
    }
    if (count + (partial > 0 ? 1 : 0) > static_cast<int64_t>(from.frags.size())) {
      return absl::InvalidArgumentError("count: more frags than the skb has");
    }
    if (partial > 0 && partial >= from.frags[count].len) {
      return absl::InvalidArgumentError("partial: not less than the frag");
    }
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kProcess);
    if (!ctx.ok()) return ctx.status();
    return Model(*ctx, sim::op::SkbShift{.tgt = *a, .skb = b,
                                         .count = static_cast<uint32_t>(count),
                                         .partial = static_cast<uint32_t>(partial)});
  }
  if (n == "skb_try_coalesce") {
    if (o.Int("racing_clone", 0) != 0) {
      return Refused("racing_clone: another CPU freeing a clone meanwhile cannot be made on one CPU");
    }
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kProcess);
    if (!ctx.ok()) return ctx.status();
    return Model(*ctx, sim::op::SkbTryCoalesce{.to = *a, .from = b});
  }
  if (n == "skb_gro_receive") {
    if (k.skb(*a)->shinfo == k.skb(b)->shinfo) {
      return absl::InvalidArgumentError("skb: clones sharing one data area");
    }
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kBh);
    if (!ctx.ok()) return ctx.status();
    return Model(*ctx, sim::op::SkbGroReceive{.p = *a, .skb = b});
  }
  if (n == "skb_segment") {
    // ppo_skb.c ppo_skb_segment: no frag_list, at least one frag, all of one size
    if (!sh.frag_list.empty()) return Refused("skb_segment: a frag_list the module does not set up");
    if (sh.frags.empty()) return absl::InvalidArgumentError("skb_segment: no frags");
    for (const sim::SkbFrag& f : sh.frags) {
      if (f.len != sh.frags[0].len) {
        return absl::InvalidArgumentError("skb_segment: frags of different sizes");
      }
    }
    absl::StatusOr<sim::ExecContext> ctx = ctx_for(*a, OracleCtx::kProcess);
    if (!ctx.ok()) return ctx.status();
    sim::OpResult r;
    const absl::Status s = Model(*ctx, sim::op::SkbSegment{.skb = *a}, &r);
    if (s.ok()) made(r);
    return s;
  }
  return absl::UnimplementedError(absl::StrCat("no translation for ", n));
}

}  // namespace ppsim::oracle
