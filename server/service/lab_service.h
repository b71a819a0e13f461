// ppsim.v1.LabService (design.md §4): create, list and delete labs; export a lab's trace as
// JSON lines and replay one on a fresh lab to check its digest.
#ifndef PPSIM_SERVER_SERVICE_LAB_SERVICE_H_
#define PPSIM_SERVER_SERVICE_LAB_SERVICE_H_

#include "ppsim/v1/service.grpc.pb.h"
#include "server/metrics/metrics.h"
#include "server/service/lab_registry.h"

namespace ppsim::service {

class LabServiceImpl final : public v1::LabService::CallbackService {
 public:
  // `labs` must outlive the service; `metrics` may be null.
  LabServiceImpl(LabRegistry* labs, metrics::RpcMetrics* metrics)
      : labs_(labs), metrics_(metrics) {}

  grpc::ServerUnaryReactor* CreateLab(grpc::CallbackServerContext* ctx,
                                      const v1::CreateLabRequest* req, v1::LabInfo* resp) override;
  grpc::ServerUnaryReactor* DeleteLab(grpc::CallbackServerContext* ctx,
                                      const v1::DeleteLabRequest* req,
                                      v1::DeleteLabResponse* resp) override;
  grpc::ServerUnaryReactor* ListLabs(grpc::CallbackServerContext* ctx,
                                     const v1::ListLabsRequest* req,
                                     v1::ListLabsResponse* resp) override;
  grpc::ServerUnaryReactor* GetLab(grpc::CallbackServerContext* ctx, const v1::GetLabRequest* req,
                                   v1::LabInfo* resp) override;
  // The trace, config and digest read under the lab's lock, so they belong together.
  grpc::ServerUnaryReactor* ExportTrace(grpc::CallbackServerContext* ctx,
                                        const v1::ExportTraceRequest* req,
                                        v1::ExportTraceResponse* resp) override;
  // Runs on a private lab (never registered): the registry is not touched.
  grpc::ServerUnaryReactor* ReplayTrace(grpc::CallbackServerContext* ctx,
                                        const v1::ReplayTraceRequest* req,
                                        v1::ReplayTraceResponse* resp) override;

 private:
  LabRegistry* labs_;
  metrics::RpcMetrics* metrics_;
};

}  // namespace ppsim::service

#endif  // PPSIM_SERVER_SERVICE_LAB_SERVICE_H_
