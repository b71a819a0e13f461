// ppsim.v1.LabService (docs/design.md §4): create, list and delete labs; export a lab's trace as
// JSON lines and replay one on a fresh lab to check its digest. A lab belongs to the identity
// that created it (auth.h): ListLabs shows a caller only its own labs (an admin, or anyone in
// open mode, sees all) and the other calls refuse someone else's lab with PERMISSION_DENIED.
// CreateLab and ReplayTrace are where the lab, RAM and memory quotas apply (quota.h).
#ifndef PPSIM_SERVER_SERVICE_LAB_SERVICE_H_
#define PPSIM_SERVER_SERVICE_LAB_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/lab_registry.h"
#include "server/service/quota.h"
#include "server/service/raw_method.h"
#include "server/service/rpc_observer.h"

namespace ppsim::service {

class LabServiceImpl final : public RawService<v1::LabService::CallbackService> {
 public:
  // `labs` and the policy's objects must outlive the service; `observer` may be null.
  LabServiceImpl(LabRegistry* labs, RpcObserver* observer, const CallPolicy& policy);

 private:
  absl::Status OnCreateLab(grpc::CallbackServerContext* ctx, const v1::CreateLabRequest& req,
                           v1::LabInfo* resp);
  absl::Status OnDeleteLab(grpc::CallbackServerContext* ctx, const v1::DeleteLabRequest& req,
                           v1::DeleteLabResponse* resp);
  absl::Status OnListLabs(grpc::CallbackServerContext* ctx, const v1::ListLabsRequest& req,
                          v1::ListLabsResponse* resp);
  absl::Status OnGetLab(grpc::CallbackServerContext* ctx, const v1::GetLabRequest& req,
                        v1::LabInfo* resp);
  // The trace streamed in chunks (trace_exporter.h); `bytes` is a v1::ExportTraceRequest's.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* OnExportTrace(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer& bytes,
                                                            RpcScope rpc);
  // Runs on a private lab (never registered): the registry is not touched.
  absl::Status OnReplayTrace(grpc::CallbackServerContext* ctx, const v1::ReplayTraceRequest& req,
                             v1::ReplayTraceResponse* resp);

  LabRegistry* labs_;
  const Authenticator& auth_;
  Quota& quota_;
  const int max_message_bytes_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_LAB_SERVICE_H_
