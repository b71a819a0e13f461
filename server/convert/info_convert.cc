#include "server/convert/info_convert.h"

#include "absl/strings/str_cat.h"

namespace ppsim::convert {

absl::StatusOr<sim::LabConfig> LabConfigFromProto(const v1::LabConfig& in) {
  sim::LabConfig c;
  if (in.has_ram_bytes()) c.ram_bytes = in.ram_bytes();
  if (in.has_numa_nodes()) c.numa_nodes = in.numa_nodes();
  if (in.has_cpus()) c.cpus = in.cpus();
  if (in.has_iommu_model()) {
    if (absl::Status s = sim::ParseIommuModel(in.iommu_model(), &c.iommu_model); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("config.", s.message()));
    }
  }
  if (in.has_iommu_strict()) c.iommu_strict = in.iommu_strict();
  if (in.has_profile()) c.profile = in.profile();
  if (in.has_default_strategy()) c.default_strategy = in.default_strategy();
  if (in.has_seed()) c.seed = in.seed();
  for (const v1::ProfileSwitch& s : in.profile_switches()) c.profile_switches.emplace_back(s.name(), s.value());
  if (in.has_page_history()) c.page_history = in.page_history();
  if (in.has_scan_ns_per_pfn()) c.cost.scan_ns_per_pfn = in.scan_ns_per_pfn();
  if (in.has_page_event_log_capacity()) c.page_event_log_capacity = in.page_event_log_capacity();
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("config.", s.message()));
  }
  return c;
}

v1::LabConfig LabConfigToProto(const sim::LabConfig& in) {
  v1::LabConfig out;
  out.set_ram_bytes(in.ram_bytes);
  out.set_numa_nodes(in.numa_nodes);
  out.set_cpus(in.cpus);
  out.set_iommu_model(std::string(sim::IommuModelName(in.iommu_model)));
  out.set_iommu_strict(in.iommu_strict);
  out.set_profile(in.profile);
  out.set_default_strategy(in.default_strategy);
  out.set_seed(in.seed);
  for (const auto& [name, value] : in.profile_switches) {
    v1::ProfileSwitch* s = out.add_profile_switches();
    s->set_name(name);
    s->set_value(value);
  }
  out.set_page_history(in.page_history);
  out.set_scan_ns_per_pfn(in.cost.scan_ns_per_pfn);
  out.set_page_event_log_capacity(in.page_event_log_capacity);
  return out;
}

void PoolInfoToProto(const sim::PoolInfo& in, v1::PoolInfo* out) {
  out->set_id(in.id);
  if (in.ifindex) out->set_ifindex(*in.ifindex);
  out->set_napi_id(in.napi_id);
  out->set_inflight(in.inflight);
  out->set_inflight_mem(in.inflight_mem);
  if (in.detach_time) out->set_detach_time(*in.detach_time);
  v1::PoolStats* s = out->mutable_stats();
  s->set_alloc_fast(in.alloc.fast);
  s->set_alloc_slow(in.alloc.slow);
  s->set_alloc_slow_high_order(in.alloc.slow_high_order);
  s->set_alloc_empty(in.alloc.empty);
  s->set_alloc_refill(in.alloc.refill);
  s->set_alloc_waive(in.alloc.waive);
  s->set_recycle_cached(in.recycle.cached);
  s->set_recycle_cache_full(in.recycle.cache_full);
  s->set_recycle_ring(in.recycle.ring);
  s->set_recycle_ring_full(in.recycle.ring_full);
  s->set_recycle_released_refcnt(in.recycle.released_refcnt);
  out->set_state(sim::PoolStateName(in.state));
  out->set_visibility(sim::VisibilityName(in.visibility));
  out->set_strategy(in.strategy);
  out->set_device(in.device);
  out->set_inflight_strict(in.inflight_strict);
  out->set_hold_cnt(in.hold_cnt);
  out->set_release_cnt(in.release_cnt);
  out->set_cache_count(in.cache_count);
  out->set_ring_count(in.ring_count);
  out->set_ring_size(in.ring_size);
  out->set_user_cnt(in.user_cnt);
  v1::StrategyCosts* c = out->mutable_costs();
  c->set_virtual_ns(in.costs.virtual_ns);
  c->set_max_lock_hold_ns(in.costs.max_lock_hold_ns);
  c->set_host_ns(in.costs.host_ns);
  c->set_memory_bytes(in.costs.memory_bytes);
  c->set_destroy_unmaps(in.costs.destroy_unmaps);
  c->set_tracking_failures(in.costs.tracking_failures);
  c->set_peak_memory_bytes(in.costs.peak_memory_bytes);
  if (in.detached_at >= 0) out->set_detached_at_ns(in.detached_at);
  if (in.freed_at >= 0) out->set_freed_at_ns(in.freed_at);
  if (in.device_removal_wait >= 0) out->set_device_removal_wait_ns(in.device_removal_wait);
}

void PageEventToProto(const sim::PageEvent& in, v1::PageEvent* out) {
  out->set_time_ns(in.time);
  out->set_op_index(in.op_index);
  out->set_kind(sim::PageEventKindName(in.kind));
  out->set_ctx(absl::StrCat(sim::CtxKindName(in.ctx), ":", in.cpu));
  out->set_pool(in.pool);
  out->set_detail(sim::PageEventDetail(in));
}

void PageInfoToProto(const sim::PageInfo& in, v1::PageInfo* out) {
  out->set_pfn(in.pfn);
  out->set_state(sim::FrameStateName(in.state));
  out->set_generation(in.generation);
  out->set_refcount(in.refcount);
  out->set_pp_ref_count(in.pp_ref_count);
  out->set_pp_magic(in.pp_magic);
  out->set_is_pp(in.is_pp);
  out->set_pool(in.pool);
  out->set_dma_addr(in.dma_addr);
  out->set_pfmemalloc(in.pfmemalloc);
  out->set_order(in.order);
  out->set_node(in.node);
  for (const sim::PageEvent& e : in.history) PageEventToProto(e, out->add_history());
}

void ViolationToProto(const sim::Violation& in, v1::Violation* out) {
  const sim::CatalogEntry& c = sim::CatalogOf(in.id);
  out->set_id(std::string(c.code));
  out->set_name(std::string(c.name));
  out->set_severity(static_cast<v1::Severity>(in.severity));
  out->set_op_index(in.op_index);
  out->set_time_ns(in.time);
  out->set_message(in.message);
  if (in.pfn) out->set_pfn(*in.pfn);
  out->set_pool(in.pool);
  out->set_device(in.device);
  out->set_strategy(in.strategy);
  for (const sim::PageEvent& e : in.history) PageEventToProto(e, out->add_history());
  for (const sim::PageEvent& e : in.faults) PageEventToProto(e, out->add_faults());
  out->set_explanation(in.Explain());
}

void EventToProto(uint64_t lab, const sim::Event& in, v1::Event* out) {
  out->set_lab(lab);
  out->set_seq(in.seq);
  out->set_time_ns(in.time);
  out->set_op_index(in.op_index);
  out->set_kind(static_cast<v1::EventKind>(in.kind));
  out->set_level(sim::LogLevelName(in.level));
  out->set_pool(in.pool);
  out->set_device(in.device);
  out->set_text(in.text);
}

}  // namespace ppsim::convert
