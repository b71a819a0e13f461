// server/service/fault_service on an in-process server: faults are set_fault / clear_faults ops
// in the lab's trace, and a rejected one is the RPC's status naming the request field.
#include "server/service/fault_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/test_server.h"
#include "tests/unit/service/read_trace.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TestServer;

TEST(FaultServiceTest, SetAndClearAreOpsInTheTrace) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext c1;
  v1::SetFaultRequest set;
  set.set_lab(lab);
  set.mutable_fault()->set_site("fail_dma_map");
  set.mutable_fault()->set_probability(0.5);
  v1::SetFaultResponse set_resp;
  ASSERT_TRUE(server.fault_stub->SetFault(&c1, set, &set_resp).ok());

  grpc::ClientContext c2;
  v1::ClearFaultsRequest clear;
  clear.set_lab(lab);
  v1::ClearFaultsResponse clear_resp;
  ASSERT_TRUE(server.fault_stub->ClearFaults(&c2, clear, &clear_resp).ok());

  grpc::ClientContext c3;
  v1::ExportTraceRequest exp;
  exp.set_lab(lab);
  v1::ExportTraceResponse trace;
  ASSERT_TRUE(::ppsim::testing::ReadTrace(server.lab_stub.get(), &c3, exp, &trace).ok());
  EXPECT_EQ(trace.ops(), 2u);
  EXPECT_THAT(trace.jsonl(), HasSubstr("\"set_fault\""));
  EXPECT_THAT(trace.jsonl(), HasSubstr("\"clear_faults\""));
}

TEST(FaultServiceTest, RejectionsAreTheStatusNamingTheRequestField) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext c1;
  v1::SetFaultRequest set;
  set.set_lab(lab);
  set.mutable_fault()->set_site("fail_everything");
  v1::SetFaultResponse set_resp;
  grpc::Status s = server.fault_stub->SetFault(&c1, set, &set_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("fault.site: unknown fault site \"fail_everything\""));

  grpc::ClientContext c2;
  set.mutable_fault()->set_site("fail_dma_map");
  set.mutable_fault()->set_interval(0);
  s = server.fault_stub->SetFault(&c2, set, &set_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "fault.interval: 0 must be >= 1");

  grpc::ClientContext c3;
  v1::ClearFaultsRequest clear;
  clear.set_lab(lab);
  clear.set_site("nope");
  v1::ClearFaultsResponse clear_resp;
  s = server.fault_stub->ClearFaults(&c3, clear, &clear_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("site: unknown fault site \"nope\""));

  grpc::ClientContext c4;
  set.set_lab(9);
  s = server.fault_stub->SetFault(&c4, set, &set_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "lab: lab 9 does not exist");
  EXPECT_EQ(server.labs.List()[0]->lab->trace().size(), 0u);
}

}  // namespace
}  // namespace ppsim::service
