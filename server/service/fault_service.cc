#include "server/service/fault_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace ppsim::service {

namespace {

// SetFault's errors with the field named as the request names it: the model says "site: ..."
// and the op conversion "set_fault.site: ...", the caller sent "fault.site". A lab error
// ("lab: ...") is already right.
absl::Status Renamed(const absl::Status& s) {
  if (s.ok() || absl::StartsWith(s.message(), "lab: ")) return s;
  absl::string_view msg = s.message();
  absl::ConsumePrefix(&msg, "set_fault.");
  return absl::Status(s.code(), absl::StrCat("fault.", msg));
}

}  // namespace

FaultServiceImpl::FaultServiceImpl(LabRegistry* labs, RpcObserver* observer,
                                   const CallPolicy& policy)
    : labs_(labs), auth_(*policy.auth), quota_(*policy.quota) {
  Unary("ppsim.v1.FaultService/SetFault", observer, &FaultServiceImpl::OnSetFault);
  Unary("ppsim.v1.FaultService/ClearFaults", observer, &FaultServiceImpl::OnClearFaults);
}

absl::Status FaultServiceImpl::Admit(grpc::CallbackServerContext* ctx, uint64_t lab) {
  absl::StatusOr<Identity> who = auth_.Authenticate(*ctx);
  if (!who.ok()) return who.status();
  absl::StatusOr<std::shared_ptr<LabEntry>> e = OwnedLab(*labs_, *who, lab);
  if (!e.ok()) return e.status();
  return quota_.AdmitBatch(*who, **e, 1);
}

absl::Status FaultServiceImpl::OnSetFault(grpc::CallbackServerContext* ctx,
                                          const v1::SetFaultRequest& req, v1::SetFaultResponse*) {
  v1::Op op;
  *op.mutable_set_fault() = req.fault();
  absl::Status s = Admit(ctx, req.lab());
  if (s.ok()) s = Renamed(labs_->ApplyOne(req.lab(), op).status());
  return s;
}

absl::Status FaultServiceImpl::OnClearFaults(grpc::CallbackServerContext* ctx,
                                             const v1::ClearFaultsRequest& req,
                                             v1::ClearFaultsResponse*) {
  v1::Op op;
  op.mutable_clear_faults()->set_site(req.site());
  absl::Status s = Admit(ctx, req.lab());
  if (s.ok()) s = labs_->ApplyOne(req.lab(), op).status();
  return s;
}

}  // namespace ppsim::service
