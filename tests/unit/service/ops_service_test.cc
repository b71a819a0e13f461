// server/service/ops_service on an in-process server: a rejected op is the batch's answer (RPC
// OK), an unknown lab is the RPC's status, and Stream answers each batch in order.
#include "server/service/ops_service.h"

#include "absl/strings/str_cat.h"
#include "server/store/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/test_server.h"

namespace ppsim::service {
namespace {

using testing::TestServer;

// A batch of one add_device for `lab`, under `request_id`.
v1::ApplyRequest AddDeviceBatch(uint64_t lab, const std::string& request_id = "") {
  v1::ApplyRequest req;
  req.set_lab(lab);
  req.set_request_id(request_id);
  *req.add_ops() = testing::AddDevice();
  return req;
}

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
  v1::ApplyRequest good = AddDeviceBatch(lab);
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

TEST(OpsServiceTest, AnInvalidRequestIdIsInvalidArgumentNamingIt) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  const v1::ApplyRequest req = AddDeviceBatch(lab, std::string(200, 'r'));
  v1::ApplyResponse resp;
  grpc::Status s = server.ops_stub->Apply(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "request_id: \"" + std::string(40, 'r') + "\"... is 200 bytes; at most 128");
  EXPECT_EQ(server.labs.Get(lab).value()->lab->trace().size(), 0u);
}

// A stream's batches carry request ids as unary ones do: a batch sent again (a client that
// reconnected and resent what it had not seen answered) is answered, not applied again.
TEST(OpsServiceTest, StreamBatchesSentAgainUnderTheirIdApplyOnce) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  auto stream = server.ops_stub->Stream(&ctx);
  const v1::ApplyRequest req = AddDeviceBatch(lab, "s-1");
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Write(req));
  v1::ApplyResponse first, second;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_TRUE(stream->Read(&second));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_FALSE(first.replayed());
  EXPECT_EQ(first.applied(), 1u);
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(second.applied(), 1u);
  EXPECT_EQ(second.ops(), 1u);
  EXPECT_EQ(second.digest(), first.digest());
}

// A call whose deadline passes mid-batch stops at the next cancellation check (every 256 ops)
// with what it applied journaled. Its client never sees the answer (DEADLINE_EXCEEDED); the
// retry under the same id says how many ops ran and why the rest did not.
TEST(OpsServiceTest, ABatchCutByItsDeadlineSaysOnRetryHowManyOpsItApplied) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  std::shared_ptr<LabEntry> e = *server.labs.Get(lab);
  v1::ApplyRequest req;
  req.set_lab(lab);
  req.set_request_id("long");
  constexpr int kOps = 200'000;
  for (int i = 0; i < kOps; ++i) req.add_ops()->mutable_advance_time()->set_ns(1);
  {
    // The batch cannot start until its deadline has passed: the lab is busy.
    ppsim::MutexLock busy(&e->mu);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    v1::ApplyResponse resp;
    grpc::Status s = server.ops_stub->Apply(&ctx, req, &resp);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  }
  // The server runs the batch once the lab is free, sees the cancellation at a check, stops.
  ASSERT_TRUE(e->mu.LockWhenWithTimeout(
      absl::Condition(
          +[](LabEntry* lab) { return !lab->lab->trace().empty(); }, e.get()),
      absl::Seconds(60)))
      << "the cut batch never ran";
  const uint64_t applied = e->lab->trace().size();
  e->mu.Unlock();

  grpc::ClientContext ctx;
  v1::ApplyResponse retry;
  grpc::Status s = server.ops_stub->Apply(&ctx, req, &retry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.applied(), applied);
  EXPECT_LT(applied, static_cast<uint64_t>(kOps));
  EXPECT_EQ(applied % 256, 255u) << "stopped at a cancellation check";
  ASSERT_TRUE(retry.has_rejected());
  EXPECT_EQ(retry.rejected().index(), applied);
  EXPECT_EQ(retry.rejected().code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(retry.rejected().message(),
            absl::StrCat("ops[", applied, "]: the call was cancelled; ops[0..", applied,
                         ") of this batch were applied, the rest were not"));
  EXPECT_EQ(e->lab->trace().size(), applied) << "the retry applied nothing";
}

}  // namespace
}  // namespace ppsim::service
