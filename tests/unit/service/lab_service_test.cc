// server/service/lab_service on an in-process server: lab lifecycle with its status codes,
// ExportTrace -> ReplayTrace reproducing the digest, and RPC metrics by method and code.
#include "server/service/lab_service.h"

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "server/service_metrics.h"
#include "tests/unit/service/test_server.h"
#include "tests/unit/service/read_trace.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TestServer;

TEST(LabServiceTest, CreateGetListDelete) {
  TestServer server;
  grpc::ClientContext c1;
  v1::CreateLabRequest create;
  create.set_name("soak");
  create.mutable_config()->set_profile("v6.8");
  create.mutable_config()->set_seed(7);
  v1::LabInfo created;
  ASSERT_TRUE(server.lab_stub->CreateLab(&c1, create, &created).ok());
  EXPECT_EQ(created.id(), 1u);
  EXPECT_EQ(created.name(), "soak");
  EXPECT_EQ(created.config().profile(), "v6.8");
  EXPECT_EQ(created.config().seed(), 7u);
  EXPECT_TRUE(created.config().has_ram_bytes()) << "the resolved config has every field";

  grpc::ClientContext c2;
  v1::GetLabRequest get;
  get.set_lab(created.id());
  v1::LabInfo got;
  ASSERT_TRUE(server.lab_stub->GetLab(&c2, get, &got).ok());
  EXPECT_EQ(got.digest(), created.digest());

  grpc::ClientContext c3;
  v1::ListLabsResponse list;
  ASSERT_TRUE(server.lab_stub->ListLabs(&c3, v1::ListLabsRequest{}, &list).ok());
  ASSERT_EQ(list.labs_size(), 1);
  EXPECT_EQ(list.labs(0).name(), "soak");

  grpc::ClientContext c4;
  v1::DeleteLabRequest del;
  del.set_lab(created.id());
  v1::DeleteLabResponse deleted;
  ASSERT_TRUE(server.lab_stub->DeleteLab(&c4, del, &deleted).ok());

  grpc::ClientContext c5;
  grpc::Status gone = server.lab_stub->GetLab(&c5, get, &got);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(gone.error_message(), "lab: lab 1 was deleted");

  grpc::ClientContext c6;
  get.set_lab(9);
  grpc::Status unknown = server.lab_stub->GetLab(&c6, get, &got);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "lab: lab 9 does not exist");
}

TEST(LabServiceTest, CreateLabNamesTheBadConfigField) {
  TestServer server;
  grpc::ClientContext c1;
  v1::CreateLabRequest req;
  req.mutable_config()->set_ram_bytes(12345);
  v1::LabInfo info;
  grpc::Status s = server.lab_stub->CreateLab(&c1, req, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("config.ram_bytes: 12345"));

  grpc::ClientContext c2;
  req.Clear();
  req.mutable_config()->set_iommu_model("bogus");
  s = server.lab_stub->CreateLab(&c2, req, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("config.iommu_model"));
}

// issue 21 item 3: "a\0b" used to be accepted and come back as "a" after a restart, and 4 MiB
// names made ListLabs outgrow the message limit. A name is printable text of at most 256 bytes.
TEST(LabServiceTest, CreateLabRefusesNamesThatWouldNotComeBackAsSent) {
  TestServer server;
  struct Case {
    std::string name;
    std::string message;
  };
  const Case cases[] = {
      {std::string("a\0b", 3), "name: byte 1 is a control character (U+0000); a lab name is printable text"},
      {"x\ny", "name: byte 1 is a control character (U+000A); a lab name is printable text"},
      {"x\xc2\x85y", "name: byte 1 is a control character (U+0085); a lab name is printable text"},
      {std::string(257, 'n'), "name: 257 bytes; a lab name has at most 256"},
  };
  for (const Case& c : cases) {
    grpc::ClientContext ctx;
    v1::CreateLabRequest req;
    req.set_name(c.name);
    v1::LabInfo info;
    const grpc::Status s = server.lab_stub->CreateLab(&ctx, req, &info);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
  }
  grpc::ClientContext list_ctx;
  v1::ListLabsResponse labs;
  ASSERT_TRUE(server.lab_stub->ListLabs(&list_ctx, v1::ListLabsRequest(), &labs).ok());
  EXPECT_EQ(labs.labs_size(), 0) << "a refused name creates no lab";
  grpc::ClientContext ok_ctx;
  v1::CreateLabRequest ok;
  ok.set_name(std::string(256, 'n'));
  v1::LabInfo info;
  EXPECT_TRUE(server.lab_stub->CreateLab(&ok_ctx, ok, &info).ok());
  EXPECT_EQ(info.name(), std::string(256, 'n'));
}

TEST(LabServiceTest, ExportedTraceReplaysToTheSameDigest) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  server.MustApply(lab, {testing::AddDevice(), testing::BindDriver(1), testing::AllocPage(1)});

  grpc::ClientContext c1;
  v1::ExportTraceRequest exp;
  exp.set_lab(lab);
  v1::ExportTraceResponse trace;
  ASSERT_TRUE(::ppsim::testing::ReadTrace(server.lab_stub.get(), &c1, exp, &trace).ok());
  EXPECT_EQ(trace.ops(), 3u);
  const std::vector<std::string> lines = absl::StrSplit(trace.jsonl(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("page_pool_alloc_pages"));

  grpc::ClientContext c2;
  v1::ReplayTraceRequest replay;
  *replay.mutable_config() = trace.config();
  replay.set_jsonl(trace.jsonl());
  replay.set_expected_digest(trace.digest());
  v1::ReplayTraceResponse replayed;
  ASSERT_TRUE(server.lab_stub->ReplayTrace(&c2, replay, &replayed).ok());
  EXPECT_TRUE(replayed.matches());
  EXPECT_EQ(replayed.digest(), trace.digest());
  EXPECT_EQ(replayed.ops(), 3u);

  grpc::ClientContext c3;
  replay.set_expected_digest(trace.digest() + 1);
  ASSERT_TRUE(server.lab_stub->ReplayTrace(&c3, replay, &replayed).ok());
  EXPECT_FALSE(replayed.matches());
  EXPECT_EQ(server.labs.List().size(), 1u) << "replays run on private labs";
}

TEST(LabServiceTest, ReplayTraceErrorsNameTheLineOrTheOp) {
  TestServer server;
  grpc::ClientContext c1;
  v1::ReplayTraceRequest req;
  req.set_jsonl("{\"add_device\":{}}\n{\"add_device\":\n");
  v1::ReplayTraceResponse resp;
  grpc::Status s = server.lab_stub->ReplayTrace(&c1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("jsonl: line 2: "));

  grpc::ClientContext c2;
  req.set_jsonl("{\"bind_driver\":{\"device\":1}}\n");  // no device 1 in a fresh lab
  s = server.lab_stub->ReplayTrace(&c2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("trace: op #0"));
}

TEST(LabServiceTest, EveryRpcIsObservedByMethodAndCode) {
  prometheus::Registry registry;
  metrics::RpcMetrics rpc_metrics(registry);
  RpcMetricsObserver observer(&rpc_metrics);  // as ppsimd wires it
  TestServer server(kWatchQueueEvents, &observer);
  grpc::ClientContext ctx;
  v1::GetLabRequest get;
  get.set_lab(9);
  v1::LabInfo info;
  ASSERT_FALSE(server.lab_stub->GetLab(&ctx, get, &info).ok());

  uint64_t observed = 0;
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    if (f.name != "ppsim_rpc_handling_seconds") continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      bool method = false, code = false;
      for (const prometheus::ClientMetric::Label& l : m.label) {
        method |= l.name == "method" && l.value == "ppsim.v1.LabService/GetLab";
        code |= l.name == "code" && l.value == "NOT_FOUND";
      }
      if (method && code) observed += m.histogram.sample_count;
    }
  }
  EXPECT_EQ(observed, 1u);
}

}  // namespace
}  // namespace ppsim::service
