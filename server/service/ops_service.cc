#include "server/service/ops_service.h"

#include "server/service/rpc_scope.h"
#include "server/service/status.h"

namespace ppsim::service {

namespace {

// Read, apply, write, read again: at most one operation in flight, so the reactions never
// overlap and need no lock, and responses leave in request order.
class ApplyStream final : public grpc::ServerBidiReactor<v1::ApplyRequest, v1::ApplyResponse> {
 public:
  ApplyStream(grpc::CallbackServerContext* ctx, LabRegistry* labs, metrics::RpcMetrics* metrics)
      : ctx_(ctx), labs_(labs), rpc_(metrics, "ppsim.v1.OpsService/Stream") {
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or the call was cancelled)
      End(ctx_->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
      return;
    }
    absl::StatusOr<v1::ApplyResponse> r = labs_->Apply(req_.lab(), req_.ops());
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
  RpcScope rpc_;
  v1::ApplyRequest req_;
  v1::ApplyResponse resp_;
};

}  // namespace

grpc::ServerUnaryReactor* OpsServiceImpl::Apply(grpc::CallbackServerContext* ctx,
                                                const v1::ApplyRequest* req,
                                                v1::ApplyResponse* resp) {
  RpcScope rpc(metrics_, "ppsim.v1.OpsService/Apply");
  absl::StatusOr<v1::ApplyResponse> r = labs_->Apply(req->lab(), req->ops());
  if (r.ok()) resp->Swap(&*r);
  return rpc.Finish(ctx, r.status());
}

grpc::ServerBidiReactor<v1::ApplyRequest, v1::ApplyResponse>* OpsServiceImpl::Stream(
    grpc::CallbackServerContext* ctx) {
  return new ApplyStream(ctx, labs_, metrics_);
}

}  // namespace ppsim::service
