// server/service/ops_service on an in-process server: a rejected op is the batch's answer (RPC
// OK), an unknown lab is the RPC's status, and Stream answers each batch in order.
#include "server/service/ops_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/test_server.h"

namespace ppsim::service {
namespace {

using testing::TestServer;

TEST(OpsServiceTest, ApplyReturnsResultsAndTheFirstRejection) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  v1::ApplyRequest req;
  req.set_lab(lab);
  *req.add_ops() = testing::AddDevice();
  *req.add_ops() = testing::BindDriver(7);  // no such device
  *req.add_ops() = testing::AddDevice();
  v1::ApplyResponse resp;
  grpc::Status s = server.ops_stub->Apply(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << "a rejected op is not an RPC error: " << s.error_message();
  EXPECT_EQ(resp.results_size(), 1);
  EXPECT_EQ(resp.results(0).device(), 1u);
  ASSERT_TRUE(resp.has_rejected());
  EXPECT_EQ(resp.rejected().index(), 1u);
  EXPECT_EQ(resp.rejected().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(resp.rejected().message(), "ops[1] bind_driver: device: device 7 does not exist");
  EXPECT_EQ(resp.ops(), 1u);
}

TEST(OpsServiceTest, ApplyToAnUnknownLabIsNotFound) {
  TestServer server;
  grpc::ClientContext ctx;
  v1::ApplyRequest req;
  req.set_lab(9);
  *req.add_ops() = testing::AddDevice();
  v1::ApplyResponse resp;
  grpc::Status s = server.ops_stub->Apply(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "lab: lab 9 does not exist");
}

TEST(OpsServiceTest, StreamAnswersEveryBatchInOrder) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  auto stream = server.ops_stub->Stream(&ctx);
  for (uint32_t i = 1; i <= 3; ++i) {
    v1::ApplyRequest req;
    req.set_lab(lab);
    *req.add_ops() = testing::AddDevice();
    ASSERT_TRUE(stream->Write(req));
  }
  for (uint32_t i = 1; i <= 3; ++i) {
    v1::ApplyResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.results_size(), 1);
    EXPECT_EQ(resp.results(0).device(), i);
    EXPECT_EQ(resp.ops(), i);
  }
  stream->WritesDone();
  v1::ApplyResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(OpsServiceTest, StreamEndsWithTheStatusOfABatchForAnUnknownLab) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  auto stream = server.ops_stub->Stream(&ctx);
  v1::ApplyRequest good;
  good.set_lab(lab);
  *good.add_ops() = testing::AddDevice();
  v1::ApplyRequest bad = good;
  bad.set_lab(42);
  ASSERT_TRUE(stream->Write(good));
  v1::ApplyResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_TRUE(stream->Write(bad));
  EXPECT_FALSE(stream->Read(&resp));
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "lab: lab 42 does not exist");
}

}  // namespace
}  // namespace ppsim::service
