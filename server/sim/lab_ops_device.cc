// Op handlers: devices, drivers, the device's own DMA.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/sim/check.h"
#include "server/sim/dma_api.h"
#include "server/sim/lab.h"

namespace ppsim::sim {

absl::StatusOr<OpResult> Lab::Do(const op::AddDevice& o) {
  std::optional<IommuModel> model;
  if (!o.iommu_model.empty()) {
    IommuModel m;
    if (absl::Status s = ParseIommuModel(o.iommu_model, &m); !s.ok()) return s;
    model = m;
  }
  if (o.strict < -1 || o.strict > 1) {
    return absl::InvalidArgumentError(absl::StrCat("strict: ", o.strict, " must be -1, 0 or 1"));
  }
  std::optional<bool> strict;
  if (o.strict >= 0) strict = o.strict == 1;
  absl::StatusOr<Device*> dev = AddDevice(*m_, o.name, o.numa_node, model, strict, o.needs_sync,
                                            o.dma_mask_bits);
  if (!dev.ok()) return dev.status();
  return OpResult{.device = (*dev)->id};
}

absl::StatusOr<OpResult> Lab::Do(const op::BindDriver& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  DriverConfig cfg;
  if (o.driver == "netdevsim") {
    cfg = DriverConfig::Netdevsim(o.rx_queues);
  } else if (o.driver == "generic") {
    cfg.rx_queues = o.rx_queues;
    cfg.pool.flags = o.flags;
    cfg.pool.order = o.order;
    cfg.pool.pool_size = o.pool_size;
    cfg.pool.nid = o.nid;
    cfg.pool.dma_dir = o.dma_dir;
    cfg.pool.max_len = o.max_len;
    cfg.pool.offset = o.offset;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("driver: \"", o.driver, "\" is not a driver; expected generic or netdevsim"));
  }
  cfg.pool.strategy = o.strategy;
  cfg.xdp_mem_model = o.xdp;
  cfg.up = o.up;
  if (absl::Status s = BindDriver(*m_, **dev, cfg); !s.ok()) return s;
  return OpResult{.device = o.device, .pools = (*dev)->rx_pools, .ifindex = (*dev)->ifindex};
}

absl::StatusOr<OpResult> Lab::Do(const op::NetdevUp& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (absl::Status s = NetdevOpen(*m_, **dev); !s.ok()) return s;
  return OpResult{.device = o.device, .pools = (*dev)->rx_pools, .ifindex = (*dev)->ifindex};
}

absl::StatusOr<OpResult> Lab::Do(const op::NetdevDown& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (!(*dev)->bound()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device: ", o.device, " has no driver bound (", DeviceStateName((*dev)->state), ")"));
  }
  NetdevStop(*m_, **dev);
  return OpResult{.device = o.device};
}

// The NAPI of `queue` on a bound device, or the API's error naming the field. nullptr when the
// device has no driver bound any more (unbound, removed, surprise-removed by a fault): its NAPIs
// were deleted with the netdev, there is nothing left to poll, and a client that did not see
// the removal is not wrong to ask.
absl::StatusOr<Napi*> Lab::QueueNapiArg(DeviceId device, uint32_t queue) {
  absl::StatusOr<Device*> dev = DeviceArg(device);
  if (!dev.ok()) return dev.status();
  if (!(*dev)->bound()) return nullptr;
  if (queue >= (*dev)->napis.size()) {
    return absl::OutOfRangeError(absl::StrCat("queue: ", queue, " but device ", device, " has ",
                                              (*dev)->napis.size(), " RX queues"));
  }
  return &FindOrDie(m_->napis, (*dev)->napis[queue], "NAPI");
}

// napi_schedule: napi_schedule_prep fails on a disabled NAPI (napi_disable leaves
// NAPI_STATE_SCHED set) and on one already scheduled, so nothing changes then; else
// ____napi_schedule makes this CPU the list_owner until napi_complete_done (net/core/dev.c).
absl::StatusOr<OpResult> Lab::Do(const op::NapiSchedule& o) {
  absl::StatusOr<Napi*> napi = QueueNapiArg(o.device, o.queue);
  if (!napi.ok()) return napi.status();
  if (*napi == nullptr || !(*napi)->enabled || (*napi)->list_owner >= 0) {
    return OpResult{.value = 0};
  }
  (*napi)->list_owner = m_->ctx.cpu;
  m_->digest.Mix(DigestTag::kNapiSchedule, (*napi)->id);
  return OpResult{.value = 1};
}

// napi_complete_done: the poll is over, list_owner is -1 again.
absl::StatusOr<OpResult> Lab::Do(const op::NapiCompleteDone& o) {
  absl::StatusOr<Napi*> napi = QueueNapiArg(o.device, o.queue);
  if (!napi.ok()) return napi.status();
  if (*napi == nullptr) return OpResult{.value = 0};
  const bool was = (*napi)->list_owner >= 0;
  (*napi)->list_owner = -1;
  if (was) m_->digest.Mix(DigestTag::kNapiCompleteDone, (*napi)->id);
  return OpResult{.value = was ? 1u : 0u};
}

absl::StatusOr<OpResult> Lab::Do(const op::UnbindDriver& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (absl::Status s = UnbindDriver(*m_, **dev); !s.ok()) return s;
  return OpResult{.device = o.device};
}

absl::StatusOr<OpResult> Lab::Do(const op::RemoveDevice& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (absl::Status s = RemoveDevice(*m_, **dev, false, o.phb); !s.ok()) return s;
  return OpResult{.device = o.device};
}

absl::StatusOr<OpResult> Lab::Do(const op::SurpriseRemove& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (absl::Status s = RemoveDevice(*m_, **dev, true, o.phb); !s.ok()) return s;
  return OpResult{.device = o.device};
}

absl::StatusOr<OpResult> Lab::Do(const op::DmaSetMask& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if (absl::Status s = DmaSetMask(*m_, **dev, o.bits); !s.ok()) return s;
  return OpResult{.device = o.device};
}

absl::StatusOr<OpResult> Lab::Do(const op::NsimPpHold& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  absl::StatusOr<std::optional<Pfn>> held = NsimPpHold(*m_, **dev, o.hold);
  if (!held.ok()) return held.status();
  OpResult r{.device = o.device};
  if (o.hold && *held) r.pages.push_back(Ref(**held));
  return r;
}

absl::StatusOr<OpResult> Lab::Do(const op::DeviceDma& o) {
  absl::StatusOr<Device*> dev = DeviceArg(o.device);
  if (!dev.ok()) return dev.status();
  if ((*dev)->gone()) {
    return absl::FailedPreconditionError(
        absl::StrCat("device: ", o.device, " was removed; a removed device cannot DMA"));
  }
  if (o.len == 0 || o.len > (kPageSize << Memory::kMaxOrder)) {
    return absl::InvalidArgumentError(
        absl::StrCat("len: ", o.len, " must be in 1..", kPageSize << Memory::kMaxOrder));
  }
  std::optional<PageHandle> expect;
  if (o.expect.pfn != 0 || o.expect.generation != 0) {
    if (absl::Status s = PageArg(o.expect, "expect"); !s.ok()) return s;
    expect = o.expect;
  }
  DeviceDma(*m_, **dev, o.iova, o.len, o.write, expect);
  return OpResult{.device = o.device};
}

absl::StatusOr<OpResult> Lab::Do(const op::DeleteNetns&) {
  for (auto& [id, pool] : m_->pools) {
    if (pool->visibility() == Visibility::kOrphaned) pool->MakeInvisible(*m_);
  }
  return OpResult{};
}

}  // namespace ppsim::sim
