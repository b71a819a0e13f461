#include "server/service/ops_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/service/rpc_scope.h"
#include "server/service/status.h"

namespace ppsim::service {

namespace {

// How often a batch looks at its call: cancellation is an atomic read, but there is no need
// to do it for every op of a million.
constexpr int kCancelCheckEvery = 256;

// The checks before a batch runs (auth.h, quota.h), then the batch, charged per op: the frames
// quota and memory cap before every op, and the call's cancellation (client gone, deadline,
// or the shutdown grace over) every kCancelCheckEvery ops, so a long batch stops at an op
// boundary and what it applied is journaled and said (issue 21 items 3 and 8).
absl::StatusOr<v1::ApplyResponse> GuardedApply(LabRegistry& labs, Quota& quota,
                                               const Identity& who, const v1::ApplyRequest& req,
                                               const grpc::CallbackServerContext* ctx) {
  if (absl::Status s = ValidateRequestId(req.request_id()); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(labs, who, req.lab());
  if (!e.ok()) return e.status();
  // A retry of a batch already applied costs nothing, so the quota does not refuse it.
  if (std::optional<v1::ApplyResponse> first = labs.Replay(req.lab(), req.request_id())) {
    return *std::move(first);
  }
  if (absl::Status s = quota.AdmitBatch(who, **e, static_cast<size_t>(req.ops_size())); !s.ok()) {
    return s;
  }
  const auto guard = [&](const LabEntry& lab, int i) -> absl::Status {
    lab.mu.AssertHeld();  // OpGuard runs under the lab's lock (LabRegistry::Apply)
    if (absl::Status s = quota.ChargeOp(lab); !s.ok()) return s;
    if (ctx != nullptr && i % kCancelCheckEvery == kCancelCheckEvery - 1 && ctx->IsCancelled()) {
      return absl::CancelledError(absl::StrCat("the call was cancelled; ops[0..", i,
                                               ") of this batch were applied, the rest were not"));
    }
    return absl::OkStatus();
  };
  return labs.Apply(req.lab(), req.ops(), guard, req.request_id());
}

// Read, apply, write, read again: at most one operation in flight, so the reactions never
// overlap and need no lock, and responses leave in request order. Messages travel as bytes
// (raw_method.h): one that does not parse ends the stream with INVALID_ARGUMENT, and the
// batches before it stay applied and answered.
class ApplyStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // The caller is authenticated once, from the stream's metadata.
  ApplyStream(grpc::CallbackServerContext* ctx, LabRegistry* labs, RpcObserver* observer,
              const Authenticator& auth, Quota* quota)
      : ctx_(ctx), labs_(labs), quota_(quota), rpc_(observer, "ppsim.v1.OpsService/Stream") {
    absl::StatusOr<Identity> who = auth.Authenticate(*ctx);
    if (!who.ok()) {
      End(ToGrpc(who.status()));
      return;
    }
    who_ = *std::move(who);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side (or the call was cancelled)
      End(ctx_->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
      return;
    }
    v1::ApplyRequest req;
    if (absl::Status s = ParseRequest(in_, &req); !s.ok()) {
      End(ToGrpc(s));
      return;
    }
    absl::StatusOr<v1::ApplyResponse> r = GuardedApply(*labs_, *quota_, who_, req, ctx_);
    if (!r.ok()) {
      End(ToGrpc(r.status()));
      return;
    }
    SerializeResponse(*r, &out_);
    StartWrite(&out_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client is gone; Finish is still owed
      End(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&in_);
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
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

}  // namespace

OpsServiceImpl::OpsServiceImpl(LabRegistry* labs, RpcObserver* observer,
                               const CallPolicy& policy)
    : labs_(labs), observer_(observer), auth_(*policy.auth), quota_(*policy.quota) {
  Unary("ppsim.v1.OpsService/Apply", observer, &OpsServiceImpl::OnApply);
  Bidi("ppsim.v1.OpsService/Stream", [this](grpc::CallbackServerContext* ctx) {
    return new ApplyStream(ctx, labs_, observer_, auth_, &quota_);
  });
}

absl::Status OpsServiceImpl::OnApply(grpc::CallbackServerContext* ctx,
                                     const v1::ApplyRequest& req, v1::ApplyResponse* resp) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  absl::StatusOr<v1::ApplyResponse> r = GuardedApply(*labs_, quota_, *who, req, ctx);
  if (r.ok()) resp->Swap(&*r);
  return r.status();
}

}  // namespace ppsim::service
