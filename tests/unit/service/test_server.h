// An in-process ppsim server for the service tests: the daemon's services and transport
// settings (services.h) on 127.0.0.1 with a free port, plus stubs over a real channel, so the
// tests go through serialization, status mapping and streaming as clients do.
#ifndef PPSIM_TESTS_UNIT_SERVICE_TEST_SERVER_H_
#define PPSIM_TESTS_UNIT_SERVICE_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/rpc_observer.h"
#include "server/service/services.h"

namespace ppsim::service::testing {

class TestServer {
 public:
  explicit TestServer(size_t watch_queue = kWatchQueueEvents,
                      RpcObserver* observer = nullptr)
      : services_(&labs, &hub, observer, watch_queue) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    services_.AddTo(&builder);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port, 0);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    channel_ = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                         grpc::InsecureChannelCredentials(), args);
    lab_stub = v1::LabService::NewStub(channel_);
    ops_stub = v1::OpsService::NewStub(channel_);
    query_stub = v1::QueryService::NewStub(channel_);
    fault_stub = v1::FaultService::NewStub(channel_);
  }

  // As ppsimd does: end Watch streams first, so Shutdown does not wait for them.
  ~TestServer() { Shutdown(); }
  void Shutdown() {
    if (server_ == nullptr) return;
    hub.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test server: shutting down"));
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }

  // A lab with the model's defaults; 0 (and a test failure) if creation fails.
  uint64_t CreateLab(const std::string& name = "") {
    grpc::ClientContext ctx;
    v1::CreateLabRequest req;
    req.set_name(name);
    v1::LabInfo info;
    grpc::Status s = lab_stub->CreateLab(&ctx, req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info.id();
  }

  // Applies ops that must all be accepted.
  v1::ApplyResponse MustApply(uint64_t lab, std::vector<v1::Op> ops) {
    grpc::ClientContext ctx;
    v1::ApplyRequest req;
    req.set_lab(lab);
    for (v1::Op& op : ops) *req.add_ops() = std::move(op);
    v1::ApplyResponse resp;
    grpc::Status s = ops_stub->Apply(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_FALSE(resp.has_rejected()) << resp.rejected().message();
    return resp;
  }

  EventHub hub;
  LabRegistry labs{&hub};
  std::unique_ptr<v1::LabService::Stub> lab_stub;
  std::unique_ptr<v1::OpsService::Stub> ops_stub;
  std::unique_ptr<v1::QueryService::Stub> query_stub;
  std::unique_ptr<v1::FaultService::Stub> fault_stub;

 private:
  Services services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Ops as a client builds them.
inline v1::Op AddDevice() {
  v1::Op op;
  op.mutable_add_device();
  return op;
}
// PP_FLAG_DMA_MAP pools under `strategy`, netdev up: pool 1 for the first device.
inline v1::Op BindDriver(uint32_t device, const std::string& strategy = "") {
  v1::Op op;
  op.mutable_bind_driver()->set_device(device);
  op.mutable_bind_driver()->set_flags(1);
  if (!strategy.empty()) op.mutable_bind_driver()->set_strategy(strategy);
  return op;
}
// In NAPI context on CPU 0, where RX queue 0's pool allows direct recycling.
inline v1::Op AllocPage(uint32_t pool) {
  v1::Op op;
  op.mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
  op.mutable_page_pool_alloc_pages()->set_pool(pool);
  return op;
}
inline v1::Op UnbindDriver(uint32_t device) {
  v1::Op op;
  op.mutable_unbind_driver()->set_device(device);
  return op;
}

}  // namespace ppsim::service::testing

#endif  // PPSIM_TESTS_UNIT_SERVICE_TEST_SERVER_H_
