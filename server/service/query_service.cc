#include "server/service/query_service.h"

#include "absl/strings/str_cat.h"
#include "server/convert/info_convert.h"
#include "server/service/event_watcher.h"
#include "server/service/paging.h"
#include "server/service/rpc_scope.h"
#include "server/service/status.h"
#include "server/store/mutex.h"

namespace ppsim::service {

namespace {

// Runs `fn(const sim::Lab&)` under the lab's lock; UNAUTHENTICATED, NOT_FOUND /
// FAILED_PRECONDITION for a lab that does not exist or was deleted, PERMISSION_DENIED for
// someone else's.
template <class Fn>
absl::Status WithLab(const Authenticator& auth, grpc::CallbackServerContext* ctx,
                     const LabRegistry& labs, uint64_t id, Fn fn) {
  absl::StatusOr<Identity> who = auth.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(labs, *who, id);
  if (!e.ok()) return e.status();
  ppsim::MutexLock lock(&(*e)->mu);
  return fn(static_cast<const sim::Lab&>(*(*e)->lab));
}

absl::Status DoListViolations(const sim::Lab& lab, const v1::ListViolationsRequest& req,
                              int max_message_bytes, v1::ListViolationsResponse* resp) {
  std::optional<sim::ViolationId> only;
  if (!req.id().empty()) {
    absl::StatusOr<sim::ViolationId> id = sim::ParseViolationId(req.id());
    if (!id.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "id: \"", req.id(), "\" is not a violation id; expected PP001..PP018 or a name such "
          "as unmap-after-iommu-teardown"));
    }
    only = *id;
  }
  // Records are only appended (up to the lab's max_violation_records), so a position is stable:
  // the token is the next record to look at and how many of `limit` were already sent.
  absl::StatusOr<Page> page =
      Page::Start("violations", 2, req.page_size(), req.page_token(), max_message_bytes);
  if (!page.ok()) return page.status();
  const std::vector<sim::Violation>& all = lab.violations();
  uint64_t sent = page->at(1);
  for (size_t i = page->at(0); i < all.size(); ++i) {
    if (req.limit() != 0 && sent >= req.limit()) break;
    if (only && all[i].id != *only) continue;
    v1::Violation v;
    convert::ViolationToProto(all[i], &v);
    if (!page->Fits(v.ByteSizeLong())) {
      resp->set_next_page_token(page->Next({i, sent}));
      break;
    }
    *resp->add_violations() = std::move(v);
    ++sent;
  }
  for (const sim::CatalogEntry& c : sim::ViolationCatalog()) {
    if (uint64_t n = lab.violation_count(c.id); n != 0) {
      (*resp->mutable_counts())[std::string(c.code)] = n;
    }
  }
  return absl::OkStatus();
}

// WatchFilter from the request: the lab must exist and be the caller's, and every kind must
// be an EventKind. Every lab, for a non-admin, is every lab it owns.
absl::StatusOr<WatchFilter> FilterFromProto(const LabRegistry& labs, const Quota& quota,
                                            const Identity& who, const v1::WatchRequest& req) {
  WatchFilter f;
  if (req.lab() != 0) {
    if (absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(labs, who, req.lab()); !e.ok()) {
      return e.status();
    }
    f.lab = req.lab();
  } else if (!who.admin) {
    f.owners = &quota;
    f.owner = who.name;
  }
  for (int i = 0; i < req.kinds_size(); ++i) {
    const int k = req.kinds(i);
    if (!v1::EventKind_IsValid(k)) {
      return absl::InvalidArgumentError(
          absl::StrCat("kinds[", i, "]: ", k, " is not an EventKind"));
    }
    f.kinds |= 1u << k;
  }
  return f;
}

}  // namespace

QueryServiceImpl::QueryServiceImpl(LabRegistry* labs, EventHub* hub, RpcObserver* observer,
                                   const CallPolicy& policy, size_t watch_queue)
    : labs_(labs),
      hub_(hub),
      observer_(observer),
      auth_(*policy.auth),
      quota_(*policy.quota),
      max_message_bytes_(policy.max_message_bytes),
      watch_queue_(watch_queue) {
  Unary("ppsim.v1.QueryService/GetPool", observer, &QueryServiceImpl::OnGetPool);
  Unary("ppsim.v1.QueryService/ListPools", observer, &QueryServiceImpl::OnListPools);
  Unary("ppsim.v1.QueryService/GetPage", observer, &QueryServiceImpl::OnGetPage);
  Unary("ppsim.v1.QueryService/ListViolations", observer, &QueryServiceImpl::OnListViolations);
  ServerStreaming("ppsim.v1.QueryService/Watch",
                  [this](grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) {
                    return OnWatch(ctx, *req);
                  });
}

absl::Status QueryServiceImpl::OnGetPool(grpc::CallbackServerContext* ctx,
                                         const v1::GetPoolRequest& req, v1::PoolInfo* resp) {
  return WithLab(auth_, ctx, *labs_, req.lab(), [&](const sim::Lab& lab) {
    absl::StatusOr<sim::PoolInfo> p = lab.GetPool(req.pool());
    if (p.ok()) convert::PoolInfoToProto(*p, resp);
    return p.status();
  });
}

absl::Status QueryServiceImpl::OnListPools(grpc::CallbackServerContext* ctx,
                                           const v1::ListPoolsRequest& req,
                                           v1::ListPoolsResponse* resp) {
  return WithLab(auth_, ctx, *labs_, req.lab(), [&](const sim::Lab& lab) {
    absl::StatusOr<Page> page =
        Page::Start("pools", 1, req.page_size(), req.page_token(), max_message_bytes_);
    if (!page.ok()) return page.status();
    // The dump's order is the kernel's (not by id): the token is a position in it.
    const std::vector<sim::PoolInfo> pools = req.all() ? lab.AllPools() : lab.ListPools();
    for (size_t i = page->at(0); i < pools.size(); ++i) {
      v1::PoolInfo p;
      convert::PoolInfoToProto(pools[i], &p);
      if (!page->Fits(p.ByteSizeLong())) {
        resp->set_next_page_token(page->Next({i}));
        break;
      }
      *resp->add_pools() = std::move(p);
    }
    return absl::OkStatus();
  });
}

absl::Status QueryServiceImpl::OnGetPage(grpc::CallbackServerContext* ctx,
                                         const v1::GetPageRequest& req, v1::PageInfo* resp) {
  return WithLab(auth_, ctx, *labs_, req.lab(), [&](const sim::Lab& lab) {
    absl::StatusOr<sim::PageInfo> p = lab.GetPage(req.pfn());
    if (p.ok()) convert::PageInfoToProto(*p, resp);
    return p.status();
  });
}

absl::Status QueryServiceImpl::OnListViolations(grpc::CallbackServerContext* ctx,
                                                const v1::ListViolationsRequest& req,
                                                v1::ListViolationsResponse* resp) {
  return WithLab(auth_, ctx, *labs_, req.lab(), [&](const sim::Lab& lab) {
    return DoListViolations(lab, req, max_message_bytes_, resp);
  });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* QueryServiceImpl::OnWatch(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& bytes) {
  RpcScope rpc(observer_, "ppsim.v1.QueryService/Watch");
  auto refuse = [&](const absl::Status& s) {
    return new EventWatcher(hub_, WatchFilter{}, watch_queue_, rpc, ToGrpc(s));
  };
  v1::WatchRequest req;
  if (absl::Status s = ParseRequest(bytes, &req); !s.ok()) return refuse(s);
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return refuse(who.status());
  absl::StatusOr<WatchFilter> f = FilterFromProto(*labs_, quota_, *who, req);
  if (!f.ok()) return refuse(f.status());
  absl::StatusOr<WatchSlot> slot = quota_.AdmitWatch(*who);
  if (!slot.ok()) return refuse(slot.status());
  return new EventWatcher(hub_, *std::move(f), watch_queue_, rpc, grpc::Status::OK,
                          *std::move(slot));
}

}  // namespace ppsim::service
