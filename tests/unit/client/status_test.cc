// client/lib/status.cc: gRPC statuses and Apply rejections as absl::Status.
#include "client/lib/status.h"

#include <gtest/gtest.h>

namespace ppsim::client {
namespace {

TEST(ClientStatusTest, FromGrpcKeepsCodeAndMessage) {
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
  const absl::Status s =
      FromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "lab: 7 does not exist"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "lab: 7 does not exist");
  EXPECT_EQ(FromGrpc(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(ClientStatusTest, RejectionBecomesItsCodeAndMessage) {
  v1::Rejection r;
  r.set_index(3);
  r.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  r.set_message("ops[3] page_pool_alloc_pages: count: 0 must be in 1..65536");
  const absl::Status s = RejectionStatus(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "ops[3] page_pool_alloc_pages: count: 0 must be in 1..65536");
  r.set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(RejectionStatus(r).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ClientStatusTest, RejectionWithoutMessageNamesTheIndex) {
  v1::Rejection r;
  r.set_index(5);
  r.set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(RejectionStatus(r).message(), "ops[5] was rejected");
}

TEST(ClientStatusTest, RejectionIsNeverOk) {
  v1::Rejection r;
  r.set_code(0);
  r.set_message("ops[0] add_device: bad");
  absl::Status s = RejectionStatus(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "ops[0] add_device: bad (rejection code 0)");
  r.set_code(99);
  s = RejectionStatus(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "ops[0] add_device: bad (rejection code 99)");
  r.set_code(-1);
  EXPECT_EQ(RejectionStatus(r).code(), absl::StatusCode::kUnknown);
}

TEST(ClientStatusTest, ApplyStatus) {
  v1::ApplyResponse ok;
  ok.add_results();
  EXPECT_TRUE(ApplyStatus(ok).ok());
  v1::ApplyResponse rejected;
  rejected.mutable_rejected()->set_index(1);
  rejected.mutable_rejected()->set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  rejected.mutable_rejected()->set_message("ops[1] page_pool_destroy: pool: 9 does not exist");
  const absl::Status s = ApplyStatus(rejected);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "ops[1] page_pool_destroy: pool: 9 does not exist");
}

}  // namespace
}  // namespace ppsim::client
