// Bad input against a real ppsimd (issue 7, docs/design.md §4 and §7): a corpus of malformed requests
// sent as raw bytes through grpc::GenericStub, so the daemon sees exactly what a buggy or
// hostile client could send — truncated and garbage protobuf, invalid UTF-8, wrong lab ids,
// out-of-range values, unknown ops and fields, a batch over the message limit. Each case
// checks the status code, that the message names the field and the value, that a lab the
// request did not own ("the victim") keeps its digest and op count, and that the daemon goes
// on serving.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/lib/client.h"
#include "client/lib/op_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ppsim/v1/service.pb.h"
#include "server/service/limits.h"
#include "tests/integration/daemon_process.h"

namespace ppsim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kTimeout = absl::Seconds(30);

// One unary call with a request body of raw bytes; the response bytes go to `out`.
grpc::Status RawUnary(grpc::GenericStub& stub, const std::string& method, const std::string& body,
                      std::string* out = nullptr) {
  grpc::Slice slice(body);
  grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  if (s.ok() && out != nullptr) {
    std::vector<grpc::Slice> slices;
    out->clear();
    if (resp.Dump(&slices).ok()) {
      for (const grpc::Slice& sl : slices) {
        out->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
      }
    }
  }
  return s;
}

// Protobuf wire format by hand, for bytes no generated class would write.
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Tag(uint32_t field, uint32_t wire_type) { return Varint((field << 3) | wire_type); }
std::string LengthDelimited(uint32_t field, const std::string& payload) {
  return Tag(field, 2) + Varint(payload.size()) + payload;
}

class MalformedRequestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = testing::DaemonProcess::Start().release(); }
  static void TearDownTestSuite() {
    if (daemon_ != nullptr) {
      std::optional<int> status = daemon_->Terminate(kTimeout);
      EXPECT_TRUE(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << "ppsimd did not exit 0 on SIGTERM after the malformed corpus:\n"
          << daemon_->log();
    }
    delete daemon_;
    daemon_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    ASSERT_TRUE(daemon_->running()) << daemon_->log();
    absl::StatusOr<std::unique_ptr<client::Client>> c =
        client::Client::Connect(daemon_->grpc_target(), kTimeout);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
    channel_ = grpc::CreateChannel(daemon_->grpc_target(), grpc::InsecureChannelCredentials());
    stub_ = std::make_unique<grpc::GenericStub>(channel_);

    // The victim: a lab with a device, a pool and pages in flight, so that a request that
    // wrongly touched it would change its digest.
    v1::LabConfig config;
    config.set_seed(7);
    absl::StatusOr<uint64_t> lab = client_->CreateLab("victim", config);
    ASSERT_TRUE(lab.ok()) << lab.status();
    victim_ = *lab;
    absl::StatusOr<std::vector<v1::Op>> ops = client::ParseOpLines(
        "add_device\nbind_driver device=1 flags=1\n"
        "page_pool_alloc_pages pool=1 count=4 @softirq:0\n");
    ASSERT_TRUE(ops.ok()) << ops.status();
    absl::StatusOr<v1::ApplyResponse> r = client_->Apply(victim_, *ops);
    ASSERT_TRUE(r.ok() && !r->has_rejected()) << r.status();
    page_ = r->results(2).pages(0).page();
    before_ = Snapshot();
  }

  void TearDown() override {
    if (HasFailure() && daemon_ != nullptr) std::cerr << "ppsimd log:\n" << daemon_->log();
  }

  struct LabState {
    uint64_t digest = 0;
    uint64_t ops = 0;
    size_t labs = 0;
  };
  LabState Snapshot() {
    absl::StatusOr<v1::LabInfo> info = client_->GetLab(victim_);
    EXPECT_TRUE(info.ok()) << info.status();
    absl::StatusOr<std::vector<v1::LabInfo>> labs = client_->ListLabs();
    EXPECT_TRUE(labs.ok()) << labs.status();
    return {info.ok() ? info->digest() : 0, info.ok() ? info->ops() : 0,
            labs.ok() ? labs->size() : 0};
  }
  // After every case: the victim is untouched, no lab appeared, and the daemon serves.
  void ExpectNothingChanged(const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(daemon_->running()) << "ppsimd died:\n" << daemon_->log();
    const LabState now = Snapshot();
    EXPECT_EQ(now.digest, before_.digest) << "the victim lab's digest changed";
    EXPECT_EQ(now.ops, before_.ops) << "the victim lab's op count changed";
    EXPECT_EQ(now.labs, before_.labs) << "a lab was created or deleted";
    absl::StatusOr<client::ServingStatus> health = client_->Health();
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, client::ServingStatus::kServing);
  }

  std::string ApplyBytes(const std::vector<v1::Op>& ops, uint64_t lab = 0) {
    v1::ApplyRequest req;
    req.set_lab(lab == 0 ? victim_ : lab);
    for (const v1::Op& op : ops) *req.add_ops() = op;
    return req.SerializeAsString();
  }

  static testing::DaemonProcess* daemon_;
  std::unique_ptr<client::Client> client_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  uint64_t victim_ = 0;
  v1::PageHandle page_;
  LabState before_;
};

testing::DaemonProcess* MalformedRequestsTest::daemon_ = nullptr;

constexpr char kApply[] = "/ppsim.v1.OpsService/Apply";

// Bytes that are not a protobuf message of the method's type are INVALID_ARGUMENT naming the
// type (docs/design.md §4), on every method, and nothing is applied. gRPC 1.51's typed callback
// handlers would answer UNIMPLEMENTED with no message (server_callback_handlers.h, "if
// deserialization or reactor creator failed" → UnimplementedUnaryReactor), so ppsim registers
// its methods raw and parses the requests itself (server/service/raw_method.h).
TEST_F(MalformedRequestsTest, UnparsableProtobufIsInvalidArgumentNamingTheType) {
  v1::Op alloc;
  alloc.mutable_ctx()->set_kind(v1::CTX_SOFTIRQ);
  alloc.mutable_page_pool_alloc_pages()->set_pool(1);
  alloc.mutable_page_pool_alloc_pages()->set_count(2);
  const std::string whole = ApplyBytes({alloc, alloc});
  // The last byte belongs to the second op's embedded message: its length prefix now promises
  // more than there is.
  const std::string truncated = whole.substr(0, whole.size() - 1);
  v1::ApplyRequest check;
  ASSERT_FALSE(check.ParseFromString(truncated)) << "the case must really be truncated";

  // An embedded op whose declared length overruns the message.
  const std::string overrun = Tag(1, 0) + Varint(victim_) + Tag(2, 2) + Varint(1000) + "\x52";
  // Wire type 7 does not exist.
  const std::string bad_wire_type = std::string("\x0f\x01", 2);
  // A varint of 11 bytes (at most 10 are allowed).
  const std::string long_varint = "\x08" + std::string(10, '\xff') + "\x01";
  // A string field (add_device.name) that is not UTF-8, which proto3 forbids.
  const std::string bad_utf8 =
      Tag(1, 0) + Varint(victim_) + LengthDelimited(2, LengthDelimited(15, LengthDelimited(1, "\xff\xfe")));
  // A group end tag with no group open.
  const std::string stray_end_group = Tag(1, 0) + Varint(victim_) + Tag(2, 4);

  struct Case {
    const char* name;
    std::string method;
    std::string body;
    const char* type;  // the message type the error names
  };
  const std::vector<Case> cases = {
      {"truncated Apply", kApply, truncated, "ppsim.v1.ApplyRequest"},
      {"length overrun", kApply, overrun, "ppsim.v1.ApplyRequest"},
      {"wire type 7", kApply, bad_wire_type, "ppsim.v1.ApplyRequest"},
      {"11-byte varint", kApply, long_varint, "ppsim.v1.ApplyRequest"},
      {"invalid UTF-8 in add_device.name", kApply, bad_utf8, "ppsim.v1.ApplyRequest"},
      {"stray end-group tag", kApply, stray_end_group, "ppsim.v1.ApplyRequest"},
      {"truncated CreateLab", "/ppsim.v1.LabService/CreateLab",
       LengthDelimited(2, Tag(1, 0)).substr(0, 3), "ppsim.v1.CreateLabRequest"},
      {"garbage GetLab", "/ppsim.v1.LabService/GetLab", bad_wire_type, "ppsim.v1.GetLabRequest"},
      {"garbage DeleteLab", "/ppsim.v1.LabService/DeleteLab", long_varint,
       "ppsim.v1.DeleteLabRequest"},
      {"garbage SetFault", "/ppsim.v1.FaultService/SetFault", overrun,
       "ppsim.v1.SetFaultRequest"},
      {"garbage ReplayTrace", "/ppsim.v1.LabService/ReplayTrace", truncated,
       "ppsim.v1.ReplayTraceRequest"},
      {"garbage GetPool", "/ppsim.v1.QueryService/GetPool", stray_end_group,
       "ppsim.v1.GetPoolRequest"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::Status s = RawUnary(*stub_, c.method, c.body);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(s.error_message(), absl::StrCat("request: ", c.body.size(), " bytes are not a ",
                                              c.type,
                                              " (truncated, a bad tag or wire type, or a string "
                                              "that is not UTF-8)"));
    ExpectNothingChanged(c.name);
  }

  // A method that does not exist is UNIMPLEMENTED too.
  grpc::Status s = RawUnary(*stub_, "/ppsim.v1.OpsService/Apply2", whole);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
  ExpectNothingChanged("unknown method");

  // Streams too: a Stream message that does not parse ends the stream with INVALID_ARGUMENT and
  // no response (registered typed, gRPC reported it to the reactor as OnReadDone(false), the
  // same as the client's half-close, and the stream ended OK); so does a Watch request.
  // GenericStub's bidirectional call carries either on the wire.
  auto stream_one = [&](const char* method, const std::string& body, bool* got_response) {
    grpc::ClientContext ctx;
    grpc::CompletionQueue cq;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub_->PrepareCall(&ctx, method, &cq);
    void* tag = nullptr;
    bool ok = false;
    call->StartCall(reinterpret_cast<void*>(1));
    EXPECT_TRUE(cq.Next(&tag, &ok) && ok);
    grpc::Slice slice(body);
    grpc::ByteBuffer msg(&slice, 1);
    call->WriteLast(msg, grpc::WriteOptions(), reinterpret_cast<void*>(2));
    EXPECT_TRUE(cq.Next(&tag, &ok));
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(3));
    EXPECT_TRUE(cq.Next(&tag, &ok));
    *got_response = ok;
    grpc::Status end;
    call->Finish(&end, reinterpret_cast<void*>(4));
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return end;
  };
  {
    bool got_response = true;
    grpc::Status end = stream_one("/ppsim.v1.OpsService/Stream", truncated, &got_response);
    EXPECT_FALSE(got_response) << "a response to a message that does not parse";
    EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << end.error_message();
    EXPECT_EQ(end.error_message(),
              absl::StrCat("request: ", truncated.size(),
                           " bytes are not a ppsim.v1.ApplyRequest (truncated, a bad tag or wire "
                           "type, or a string that is not UTF-8)"));
  }
  {
    bool got_response = true;
    grpc::Status end = stream_one("/ppsim.v1.QueryService/Watch", long_varint, &got_response);
    EXPECT_FALSE(got_response) << "an event for a Watch request that does not parse";
    EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << end.error_message();
    EXPECT_TRUE(absl::StrContains(end.error_message(), "ppsim.v1.WatchRequest"))
        << end.error_message();
  }
  ExpectNothingChanged("truncated Stream message");
}

// Well-formed protobuf, wrong lab: the RPC's status names the lab.
TEST_F(MalformedRequestsTest, WrongLabIdsAreNotFoundNamingTheId) {
  v1::Op add;
  add.mutable_add_device();
  for (uint64_t lab : {uint64_t{999'999}, uint64_t{18446744073709551615u}}) {
    grpc::Status s = RawUnary(*stub_, kApply, ApplyBytes({add}, lab));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), absl::StrCat("lab: lab ", lab, " does not exist"));
    ExpectNothingChanged(absl::StrCat("lab ", lab));
  }
  // Lab 0 is the default of an unset field: never a lab.
  v1::ApplyRequest req;
  *req.add_ops() = add;
  grpc::Status s = RawUnary(*stub_, kApply, req.SerializeAsString());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "lab: lab 0 does not exist");
  ExpectNothingChanged("lab 0");

  v1::GetPoolRequest pool;
  pool.set_lab(victim_);
  pool.set_pool(4'000'000'000u);
  s = RawUnary(*stub_, "/ppsim.v1.QueryService/GetPool", pool.SerializeAsString());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "pool: pool 4000000000 does not exist");
  ExpectNothingChanged("pool 4000000000");
}

// Ops whose values are out of range, or that name no op: the RPC is OK, the batch's first op
// is rejected with the code and a message naming the op, the field and the value, and nothing
// is applied (the victim's digest is unchanged).
TEST_F(MalformedRequestsTest, OutOfRangeAndUnknownOpsAreRejectedNamingTheFieldAndValue) {
  struct Case {
    const char* name;
    v1::Op op;
    grpc::StatusCode code;
    std::string message;  // the rejection's message, or its start when `prefix`
    bool prefix = false;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, grpc::StatusCode code, std::string message, auto fill,
                 bool prefix = false) {
    Case c{name, {}, code, std::move(message), prefix};
    fill(c.op);
    cases.push_back(std::move(c));
  };
  using grpc::StatusCode;
  add("count 0", StatusCode::INVALID_ARGUMENT,
      "ops[0] page_pool_alloc_pages: count: 0 must be in 1..65536", [](v1::Op& o) {
        o.mutable_page_pool_alloc_pages()->set_pool(1);
        o.mutable_page_pool_alloc_pages()->set_count(0);
      });
  add("count 2^32-1", StatusCode::INVALID_ARGUMENT,
      "ops[0] page_pool_alloc_pages: count: 4294967295 must be in 1..65536", [](v1::Op& o) {
        o.mutable_page_pool_alloc_pages()->set_pool(1);
        o.mutable_page_pool_alloc_pages()->set_count(4294967295u);
      });
  add("advance_time ns -1", StatusCode::INVALID_ARGUMENT,
      "ops[0] advance_time: ns: -1 must be in 0..2592000000000000 (30 days)",
      [](v1::Op& o) { o.mutable_advance_time()->set_ns(-1); });
  add("alloc_page order 11", StatusCode::INVALID_ARGUMENT,
      "ops[0] alloc_page: order: 11 exceeds MAX_PAGE_ORDER 10",
      [](v1::Op& o) { o.mutable_alloc_page()->set_order(11); });
  add("alloc_page nid 64", StatusCode::INVALID_ARGUMENT,
      "ops[0] alloc_page: nid: 64 must be -1 or 0..0",
      [](v1::Op& o) { o.mutable_alloc_page()->set_nid(64); });
  add("ctx.kind 99", StatusCode::INVALID_ARGUMENT, "ops[0]: ctx.kind: 99 is not a context",
      [](v1::Op& o) {
        o.mutable_ctx()->set_kind(static_cast<v1::CtxKind>(99));
        o.mutable_add_device();
      });
  add("ctx.cpu 70000", StatusCode::INVALID_ARGUMENT, "ops[0]: ctx.cpu: 70000 is out of range",
      [](v1::Op& o) {
        o.mutable_ctx()->set_cpu(70000);
        o.mutable_add_device();
      });
  add("dma_dir 9", StatusCode::INVALID_ARGUMENT,
      "ops[0]: page_pool_create.dma_dir: 9 is not a DmaDir", [](v1::Op& o) {
        o.mutable_page_pool_create()->set_device(1);
        o.mutable_page_pool_create()->set_dma_dir(static_cast<v1::DmaDir>(9));
      });
  add("unknown pool", StatusCode::NOT_FOUND, "ops[0] page_pool_alloc_pages: pool: ", [](v1::Op& o) {
    o.mutable_page_pool_alloc_pages()->set_pool(77);
  }, /*prefix=*/true);
  add("unknown device", StatusCode::NOT_FOUND, "ops[0] bind_driver: device: device 9 does not exist",
      [](v1::Op& o) { o.mutable_bind_driver()->set_device(9); });
  add("no op set", StatusCode::INVALID_ARGUMENT, "ops[0]: op: no op is set",
      [](v1::Op& o) { o.mutable_ctx()->set_kind(v1::CTX_SOFTIRQ); });
  // An op number from a newer client (field 200 of Op): protobuf keeps it as an unknown field,
  // so to this daemon the op is simply not set.
  add("unknown op number", StatusCode::INVALID_ARGUMENT, "ops[0]: op: no op is set", [](v1::Op& o) {
    o.GetReflection()->MutableUnknownFields(&o)->AddLengthDelimited(200, "");
  });
  add("unknown fault site", StatusCode::INVALID_ARGUMENT,
      "ops[0] set_fault: site: unknown fault site \"fail_everything\"", [](v1::Op& o) {
        o.mutable_set_fault()->set_site("fail_everything");
      }, /*prefix=*/true);
  add("probability 1.5", StatusCode::INVALID_ARGUMENT,
      "ops[0] set_fault: probability: 1.5 must be in [0, 1]", [](v1::Op& o) {
        o.mutable_set_fault()->set_site("fail_dma_map");
        o.mutable_set_fault()->set_probability(1.5);
      }, /*prefix=*/true);

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // The bad op first, then a good one that must never run.
    v1::Op good;
    good.mutable_add_device();
    std::string resp_bytes;
    grpc::Status s = RawUnary(*stub_, kApply, ApplyBytes({c.op, good}), &resp_bytes);
    ASSERT_TRUE(s.ok()) << "a rejected op is not an RPC error: " << s.error_message();
    v1::ApplyResponse r;
    ASSERT_TRUE(r.ParseFromString(resp_bytes));
    ASSERT_TRUE(r.has_rejected()) << r.ShortDebugString();
    EXPECT_EQ(r.rejected().index(), 0u);
    EXPECT_EQ(r.rejected().code(), static_cast<int>(c.code)) << r.rejected().message();
    if (c.prefix) {
      EXPECT_THAT(r.rejected().message(), StartsWith(c.message));
    } else {
      EXPECT_EQ(r.rejected().message(), c.message);
    }
    EXPECT_EQ(r.results_size(), 0);
    EXPECT_EQ(r.digest(), before_.digest);
    ExpectNothingChanged(c.name);
  }
}

// Request fields out of range outside ops: the RPC's own status, naming the request's field.
TEST_F(MalformedRequestsTest, OutOfRangeRequestFieldsNameTheField) {
  struct Case {
    const char* name;
    std::string method;
    std::string body;
    grpc::StatusCode code;
    std::string message_start;
  };
  v1::CreateLabRequest big;
  big.mutable_config()->set_ram_bytes((uint64_t{16} << 40) + 4096);
  v1::CreateLabRequest numa;
  numa.mutable_config()->set_numa_nodes(65);
  v1::CreateLabRequest strategy;
  strategy.mutable_config()->set_default_strategy("yolo");
  v1::SetFaultRequest fault;
  fault.set_lab(victim_);
  fault.mutable_fault()->set_site("fail_dma_map");
  fault.mutable_fault()->set_probability(-0.5);
  v1::GetPageRequest page;
  page.set_lab(victim_);
  page.set_pfn(uint64_t{1} << 50);
  v1::ListViolationsRequest violations;
  violations.set_lab(victim_);
  violations.set_id("PP0");
  const std::vector<Case> cases = {
      {"ram 16 TiB + 4 KiB", "/ppsim.v1.LabService/CreateLab", big.SerializeAsString(),
       grpc::StatusCode::INVALID_ARGUMENT, "config.ram_bytes: 17592186048512 "},
      {"65 NUMA nodes", "/ppsim.v1.LabService/CreateLab", numa.SerializeAsString(),
       grpc::StatusCode::INVALID_ARGUMENT, "config.numa_nodes: 65 "},
      {"unknown strategy", "/ppsim.v1.LabService/CreateLab", strategy.SerializeAsString(),
       grpc::StatusCode::INVALID_ARGUMENT, "config.default_strategy: "},
      {"probability -0.5", "/ppsim.v1.FaultService/SetFault", fault.SerializeAsString(),
       grpc::StatusCode::INVALID_ARGUMENT, "fault.probability: -0.5 "},
      {"pfn 2^50", "/ppsim.v1.QueryService/GetPage", page.SerializeAsString(),
       grpc::StatusCode::INVALID_ARGUMENT, "pfn: 0x4000000000000 "},
      {"violation id PP0", "/ppsim.v1.QueryService/ListViolations",
       violations.SerializeAsString(), grpc::StatusCode::INVALID_ARGUMENT, "id: \"PP0\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::Status s = RawUnary(*stub_, c.method, c.body);
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.message_start));
    ExpectNothingChanged(c.name);
  }
}

// ReplayTrace takes JSON lines: an unknown op name or field is an error naming it and the line
// (a misspelt field must not replay as a default), and replays never touch existing labs.
TEST_F(MalformedRequestsTest, ReplayTraceNamesTheUnknownOpOrFieldAndItsLine) {
  struct Case {
    const char* name;
    std::string jsonl;
    std::string needle;  // the unknown name, which the message must contain
  };
  const std::vector<Case> cases = {
      {"unknown op", "{\"add_device\":{}}\n{\"no_such_op\":{}}\n", "no_such_op"},
      {"unknown field", "{\"add_device\":{\"bogus_field\":1}}\n", "bogus_field"},
      {"wrong type", "{\"advance_time\":{\"ns\":\"soon\"}}\n", "soon"},
      {"count out of range", "{\"page_pool_alloc_pages\":{\"pool\":1,\"count\":99999999999}}\n",
       "99999999999"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::ReplayTraceResponse> r = client_->ReplayTrace(v1::LabConfig{}, c.jsonl, 0);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(std::string(r.status().message()), StartsWith("jsonl: line "));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.needle));
    ExpectNothingChanged(c.name);
  }
}

// A batch bigger than the daemon's message limit (limits.h) is RESOURCE_EXHAUSTED naming the
// limit, on Apply and on Stream, and nothing of it is applied.
TEST_F(MalformedRequestsTest, HugeBatchOverTheMessageLimitIsResourceExhausted) {
  // 65 ops each carrying a 1 MiB device name: 65 MiB, one more than the limit.
  v1::Op op;
  op.mutable_add_device()->set_name(std::string(1 << 20, 'n'));
  std::vector<v1::Op> ops(65, op);
  const std::string body = ApplyBytes(ops);
  ASSERT_GT(body.size(), static_cast<size_t>(service::kMaxMessageBytes));
  grpc::Status s = RawUnary(*stub_, kApply, body);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr(std::to_string(service::kMaxMessageBytes)));
  ExpectNothingChanged("huge unary batch");

  absl::StatusOr<std::unique_ptr<client::OpStream>> stream = client_->OpenStream();
  ASSERT_TRUE(stream.ok()) << stream.status();
  absl::StatusOr<v1::ApplyResponse> r = (*stream)->Roundtrip(victim_, ops);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  ExpectNothingChanged("huge stream batch");

  // Just under the limit is a batch like any other: 60 devices added, every one counted.
  ops.resize(60);
  absl::StatusOr<v1::ApplyResponse> ok = client_->Apply(victim_, ops);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(ok->has_rejected()) << ok->rejected().message();
  EXPECT_EQ(ok->results_size(), 60);
  EXPECT_EQ(ok->ops(), before_.ops + 60);
}

}  // namespace
}  // namespace ppsim
