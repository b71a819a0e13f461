// An in-process ppsim server with a CallPolicy (auth.h, quota.h): the daemon's services on
// 127.0.0.1 with a free port, plaintext, and helpers that call them as a given identity (a
// bearer token in the metadata), so the auth and quota tests check codes and messages as a
// client sees them.
#ifndef PPSIM_TESTS_UNIT_SERVICE_POLICY_SERVER_H_
#define PPSIM_TESTS_UNIT_SERVICE_POLICY_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ppsim/v1/service.grpc.pb.h"
#include "server/service/auth.h"
#include "server/service/quota.h"
#include "server/service/services.h"

namespace ppsim::service::testing {

// Tokens of the identities the tests use: alice, bob, and root (an admin).
inline constexpr char kAliceToken[] = "alice-token-0123456789abcdef";
inline constexpr char kBobToken[] = "bob-token-0123456789abcdef";
inline constexpr char kRootToken[] = "root-token-0123456789abcdef";

inline Authenticator TestAuthenticator() {
  Authenticator::Config c;
  c.tokens = {{kAliceToken, "alice"}, {kBobToken, "bob"}, {kRootToken, "root"}};
  c.admins = {"root"};
  return Authenticator(std::move(c));
}

class PolicyServer {
 public:
  // Closed mode with the three tokens and `limits`; `quota` may inject a clock or RSS probe.
  // `max_message_bytes` is --max-message-bytes: the list RPCs page to half of it.
  explicit PolicyServer(QuotaLimits limits = QuotaLimits::Unlimited(),
                        Quota::Clock clock = nullptr, Quota::MemoryProbe rss = nullptr,
                        int max_message_bytes = kMaxMessageBytes)
      : auth_(TestAuthenticator()),
        quota(limits, std::move(clock), std::move(rss)),
        services_(&labs, &hub, nullptr, CallPolicy{&auth_, &quota, max_message_bytes}) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    services_.AddTo(&builder);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    lab_stub = v1::LabService::NewStub(channel_);
    ops_stub = v1::OpsService::NewStub(channel_);
    query_stub = v1::QueryService::NewStub(channel_);
    fault_stub = v1::FaultService::NewStub(channel_);
  }
  ~PolicyServer() {
    hub.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test server: shutting down"));
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
  }

  // A context carrying `token` ("" = no authorization metadata) and a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  grpc::Status CreateLab(const std::string& token, uint64_t* id, uint64_t ram_bytes = 0) {
    v1::CreateLabRequest req;
    if (ram_bytes != 0) req.mutable_config()->set_ram_bytes(ram_bytes);
    v1::LabInfo info;
    grpc::Status s = lab_stub->CreateLab(As(token).get(), req, &info);
    if (id != nullptr) *id = info.id();
    return s;
  }
  // A lab that must be created.
  uint64_t MustCreateLab(const std::string& token) {
    uint64_t id = 0;
    grpc::Status s = CreateLab(token, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }
  grpc::Status Apply(const std::string& token, uint64_t lab, const std::vector<v1::Op>& ops,
                     v1::ApplyResponse* resp = nullptr) {
    v1::ApplyRequest req;
    req.set_lab(lab);
    for (const v1::Op& op : ops) *req.add_ops() = op;
    v1::ApplyResponse r;
    grpc::Status s = ops_stub->Apply(As(token).get(), req, &r);
    if (resp != nullptr) *resp = r;
    return s;
  }
  grpc::Status GetLab(const std::string& token, uint64_t lab, v1::LabInfo* info = nullptr) {
    v1::GetLabRequest req;
    req.set_lab(lab);
    v1::LabInfo i;
    grpc::Status s = lab_stub->GetLab(As(token).get(), req, &i);
    if (info != nullptr) *info = i;
    return s;
  }
  // The lab's digest as its owner (or an admin) reads it.
  uint64_t Digest(uint64_t lab) {
    v1::LabInfo info;
    grpc::Status s = GetLab(kRootToken, lab, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info.digest();
  }

  EventHub hub;
  LabRegistry labs{&hub};

 private:
  Authenticator auth_;

 public:
  Quota quota;
  std::unique_ptr<v1::LabService::Stub> lab_stub;
  std::unique_ptr<v1::OpsService::Stub> ops_stub;
  std::unique_ptr<v1::QueryService::Stub> query_stub;
  std::unique_ptr<v1::FaultService::Stub> fault_stub;

 private:
  Services services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace ppsim::service::testing

#endif  // PPSIM_TESTS_UNIT_SERVICE_POLICY_SERVER_H_
