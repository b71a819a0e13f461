#include "server/service/ops_service.h"

#include "server/service/rpc_scope.h"
#include "server/service/status.h"

namespace ppsim::service {

namespace {

// The checks before a batch runs (auth.h, quota.h), then the batch.
absl::StatusOr<v1::ApplyResponse> GuardedApply(LabRegistry& labs, Quota& quota,
                                               const Identity& who, const v1::ApplyRequest& req) {
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(labs, who, req.lab());
  if (!e.ok()) return e.status();
  if (absl::Status s = quota.AdmitBatch(who, **e, static_cast<size_t>(req.ops_size())); !s.ok()) {
    return s;
  }
  return labs.Apply(req.lab(), req.ops());
}

// Read, apply, write, read again: at most one operation in flight, so the reactions never
// overlap and need no lock, and responses leave in request order.
class ApplyStream final : public grpc::ServerBidiReactor<v1::ApplyRequest, v1::ApplyResponse> {
 public:
  // The caller is authenticated once, from the stream's metadata.
  ApplyStream(grpc::CallbackServerContext* ctx, LabRegistry* labs, metrics::RpcMetrics* metrics,
              const Authenticator& auth, Quota* quota)
      : ctx_(ctx), labs_(labs), quota_(quota), rpc_(metrics, "ppsim.v1.OpsService/Stream") {
    absl::StatusOr<Identity> who = auth.Authenticate(*ctx);
    if (!who.ok()) {
      End(ToGrpc(who.status()));
      return;
    }
    who_ = *std::move(who);
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or the call was cancelled)
      End(ctx_->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
      return;
    }
    absl::StatusOr<v1::ApplyResponse> r = GuardedApply(*labs_, *quota_, who_, req_);
    if (!r.ok()) {
      End(ToGrpc(r.status()));
      return;
    }
    resp_ = *std::move(r);
    StartWrite(&resp_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client is gone; Finish is still owed
      End(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  void End(const grpc::Status& s) {
    rpc_.Record(s);
    Finish(s);
  }

  grpc::CallbackServerContext* ctx_;
  LabRegistry* labs_;
  Quota* quota_;
  Identity who_;
  RpcScope rpc_;
  v1::ApplyRequest req_;
  v1::ApplyResponse resp_;
};

}  // namespace

grpc::ServerUnaryReactor* OpsServiceImpl::Apply(grpc::CallbackServerContext* ctx,
                                                const v1::ApplyRequest* req,
                                                v1::ApplyResponse* resp) {
  RpcScope rpc(metrics_, "ppsim.v1.OpsService/Apply");
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return rpc.Finish(ctx, who.status());
  absl::StatusOr<v1::ApplyResponse> r = GuardedApply(*labs_, quota_, *who, *req);
  if (r.ok()) resp->Swap(&*r);
  return rpc.Finish(ctx, r.status());
}

grpc::ServerBidiReactor<v1::ApplyRequest, v1::ApplyResponse>* OpsServiceImpl::Stream(
    grpc::CallbackServerContext* ctx) {
  return new ApplyStream(ctx, labs_, metrics_, auth_, &quota_);
}

}  // namespace ppsim::service
