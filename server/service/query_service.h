// ppsim.v1.QueryService (docs/design.md §4): a lab read back in the kernel's netlink terms (GetPool,
// the page-pool-get dump ListPools), pages, violations, and the Watch event stream. Queries
// take the lab's lock, so they see the state between two ops, never in the middle of one.
// Only the lab's owner (or an admin; anyone in open mode) may query it (auth.h); Watch
// streams count against the watch-stream quota (quota.h).
#ifndef PPSIM_SERVER_SERVICE_QUERY_SERVICE_H_
#define PPSIM_SERVER_SERVICE_QUERY_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/event_hub.h"
#include "server/service/lab_registry.h"
#include "server/service/limits.h"
#include "server/service/quota.h"
#include "server/service/raw_method.h"
#include "server/service/rpc_observer.h"

namespace ppsim::service {

class QueryServiceImpl final : public RawService<v1::QueryService::CallbackService> {
 public:
  // `labs` and `hub` must outlive the service; `observer` may be null. `watch_queue` bounds
  // each Watch stream's backlog (limits.h).
  QueryServiceImpl(LabRegistry* labs, EventHub* hub, RpcObserver* observer,
                   const CallPolicy& policy, size_t watch_queue = kWatchQueueEvents);

 private:
  absl::Status OnGetPool(grpc::CallbackServerContext* ctx, const v1::GetPoolRequest& req,
                         v1::PoolInfo* resp);
  absl::Status OnListPools(grpc::CallbackServerContext* ctx, const v1::ListPoolsRequest& req,
                           v1::ListPoolsResponse* resp);
  absl::Status OnGetPage(grpc::CallbackServerContext* ctx, const v1::GetPageRequest& req,
                         v1::PageInfo* resp);
  // Stored violations in the order they were raised, the first `limit` of them; `counts`
  // covers every id ever raised in the lab, whatever the filter and however many are stored.
  absl::Status OnListViolations(grpc::CallbackServerContext* ctx,
                                const v1::ListViolationsRequest& req,
                                v1::ListViolationsResponse* resp);
  // Events from the moment the response headers arrive (event_watcher.h). Lab 0 (every lab)
  // means every lab of the caller's own, unless it is an admin. `req` is a v1::WatchRequest's
  // bytes.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* OnWatch(grpc::CallbackServerContext* ctx,
                                                      const grpc::ByteBuffer& req);

  LabRegistry* labs_;
  EventHub* hub_;
  RpcObserver* observer_;
  const Authenticator& auth_;
  Quota& quota_;
  const int max_message_bytes_;  // list RPCs page to half of it (paging.h)
  size_t watch_queue_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_QUERY_SERVICE_H_
