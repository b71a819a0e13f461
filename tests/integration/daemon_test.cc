// A real ppsimd process (daemon_process.h) driven through libppsim_client and ppctl over
// loopback: every RPC once, the status codes and their messages, Apply's stop at the first bad
// op, Watch (a violation as it happens, a consumer that never reads), SIGTERM in the middle of
// traffic, and ppctl's exit codes.
#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/lib/client.h"
#include "client/lib/op_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/service/limits.h"
#include "tests/integration/daemon_process.h"

namespace ppsim {
namespace {

using client::Client;
using ::testing::AnyOf;
using ::testing::Contains;
using testing::DaemonProcess;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::RunCommand;
using ::testing::StartsWith;

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);
constexpr absl::Duration kWaitTimeout = absl::Seconds(15);  // anything we wait for

// Ops from their text form (op_line.h); a test failure for a typo.
std::vector<v1::Op> Ops(absl::string_view text) {
  absl::StatusOr<std::vector<v1::Op>> ops = client::ParseOpLines(text);
  EXPECT_TRUE(ops.ok()) << ops.status();
  return ops.ok() ? *ops : std::vector<v1::Op>{};
}

std::unique_ptr<Client> MustConnect(const std::string& target,
                                    Client::Options options = Client::Options{}) {
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(target, kConnectTimeout, options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// Polls `pred` until it holds or `timeout` passes.
template <class Pred>
bool Eventually(Pred pred, absl::Duration timeout = kWaitTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!pred()) {
    if (absl::Now() >= deadline) return pred();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// docs/design.md §3.6: a legacy pool unbound with a page still handed out leaves that page's DMA
// mapping behind; dma-debug reports it at unbind (PP005). Device 1, pool 1.
constexpr char kUnbindWithPageHeld[] =
    "add_device\n"
    "bind_driver device=1 flags=1 strategy=legacy\n"
    "page_pool_alloc_pages pool=1 count=1 @softirq:0\n"
    "unbind_driver device=1\n";

// One daemon for the tests that leave it running; each test works in labs of its own.
class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = DaemonProcess::Start().release(); }
  static void TearDownTestSuite() {
    if (daemon_ != nullptr) {
      std::optional<int> status = daemon_->Terminate(kWaitTimeout);
      EXPECT_TRUE(status.has_value()) << "ppsimd did not stop on SIGTERM";
      if (status) {
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
            << testing::DescribeWaitStatus(*status) << "\n"
            << daemon_->log();
      }
    }
    delete daemon_;
    daemon_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(daemon_, nullptr) << "ppsimd did not start";
    ASSERT_TRUE(daemon_->running()) << "ppsimd died:\n" << daemon_->log();
    client_ = MustConnect(daemon_->grpc_target());
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    if (HasFailure() && daemon_ != nullptr) {
      std::cerr << "ppsimd log so far:\n" << daemon_->log();
    }
  }

  uint64_t NewLab(const std::string& name = "") {
    v1::LabConfig config;
    config.set_seed(1);
    absl::StatusOr<uint64_t> lab = client_->CreateLab(name, config);
    EXPECT_TRUE(lab.ok()) << lab.status();
    return lab.ok() ? *lab : 0;
  }

  // Applies ops that must all be accepted.
  v1::ApplyResponse MustApply(uint64_t lab, absl::string_view text) {
    absl::StatusOr<v1::ApplyResponse> r = client_->Apply(lab, Ops(text));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_FALSE(r->has_rejected()) << r->rejected().message();
    return *r;
  }

  static DaemonProcess* daemon_;
  std::unique_ptr<Client> client_;
};

DaemonProcess* DaemonTest::daemon_ = nullptr;

TEST_F(DaemonTest, ReadyFileNamesTheBoundPortsAndThePid) {
  EXPECT_EQ(daemon_->ready_pid(), daemon_->pid()) << daemon_->ready_json();
  EXPECT_THAT(daemon_->grpc_target(), StartsWith("127.0.0.1:"));
  EXPECT_NE(daemon_->grpc_target(), "127.0.0.1:0") << "the port actually bound, not the flag's";
  EXPECT_THAT(daemon_->metrics_target(), StartsWith("127.0.0.1:"));
  EXPECT_NE(daemon_->metrics_target(), "127.0.0.1:0");
  EXPECT_TRUE(std::filesystem::is_directory(daemon_->data_dir())) << "--data-dir is created";
}

// ---------------------------------------------------------------------------------------------
// Every RPC once.

TEST_F(DaemonTest, LabServiceLifecycleAndTraceReplay) {
  v1::LabConfig config;
  config.set_profile("v6.8");
  config.set_seed(42);
  absl::StatusOr<uint64_t> lab = client_->CreateLab("lifecycle", config);
  ASSERT_TRUE(lab.ok()) << lab.status();

  absl::StatusOr<v1::LabInfo> info = client_->GetLab(*lab);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id(), *lab);
  EXPECT_EQ(info->name(), "lifecycle");
  EXPECT_EQ(info->config().profile(), "v6.8");
  EXPECT_EQ(info->config().seed(), 42u);
  EXPECT_TRUE(info->config().has_ram_bytes()) << "the resolved config has every field";
  EXPECT_EQ(info->ops(), 0u);

  absl::StatusOr<std::vector<v1::LabInfo>> labs = client_->ListLabs();
  ASSERT_TRUE(labs.ok()) << labs.status();
  bool listed = false;
  for (const v1::LabInfo& l : *labs) listed |= l.id() == *lab && l.name() == "lifecycle";
  EXPECT_TRUE(listed);

  const v1::ApplyResponse applied = MustApply(*lab,
                                              "add_device\n"
                                              "bind_driver device=1 flags=1\n"
                                              "page_pool_alloc_pages pool=1 count=3 @softirq:0\n");
  EXPECT_EQ(applied.ops(), 3u);

  absl::StatusOr<v1::ExportTraceResponse> trace = client_->ExportTrace(*lab);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->ops(), 3u);
  EXPECT_EQ(trace->digest(), applied.digest());
  EXPECT_EQ(trace->config().seed(), 42u);
  std::vector<std::string> lines = absl::StrSplit(trace->jsonl(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << trace->jsonl();
  EXPECT_THAT(lines[2], HasSubstr("page_pool_alloc_pages"));
  // Each exported line parses back as an op (what ppctl apply accepts).
  for (const std::string& line : lines) {
    EXPECT_TRUE(client::ParseOpLine(line).ok()) << line;
  }

  absl::StatusOr<v1::ReplayTraceResponse> replay =
      client_->ReplayTrace(trace->config(), trace->jsonl(), trace->digest());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->matches());
  EXPECT_EQ(replay->digest(), trace->digest());
  EXPECT_EQ(replay->ops(), 3u);

  // The same ops, but the last one allocates 2 pages instead of 3.
  std::string tampered = trace->jsonl();
  const std::regex count3(R"re("count"\s*:\s*3)re");
  ASSERT_TRUE(std::regex_search(lines[2], count3)) << lines[2];
  tampered = std::regex_replace(tampered, count3, "\"count\":2");
  ASSERT_NE(tampered, trace->jsonl());
  replay = client_->ReplayTrace(trace->config(), tampered, trace->digest());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_FALSE(replay->matches());
  EXPECT_NE(replay->digest(), trace->digest());
  EXPECT_EQ(replay->ops(), 3u);

  absl::StatusOr<std::vector<v1::LabInfo>> after_replays = client_->ListLabs();
  ASSERT_TRUE(after_replays.ok());
  EXPECT_EQ(after_replays->size(), labs->size()) << "replays run on private labs";

  ASSERT_TRUE(client_->DeleteLab(*lab).ok());
  labs = client_->ListLabs();
  ASSERT_TRUE(labs.ok());
  for (const v1::LabInfo& l : *labs) EXPECT_NE(l.id(), *lab) << "deleted labs are not listed";
}

TEST_F(DaemonTest, OpsServiceApplyAndStream) {
  const uint64_t lab = NewLab();
  v1::ApplyResponse r = MustApply(lab, "add_device\nbind_driver device=1 flags=1\n");
  ASSERT_EQ(r.results_size(), 2);
  EXPECT_EQ(r.results(0).device(), 1u);
  EXPECT_THAT(r.results(1).pools(), Contains(1u));
  EXPECT_EQ(r.ops(), 2u);

  absl::StatusOr<std::unique_ptr<client::OpStream>> stream = client_->OpenStream();
  ASSERT_TRUE(stream.ok()) << stream.status();
  // Pipelined: three batches out before any answer is read.
  const std::vector<v1::Op> alloc = Ops("page_pool_alloc_pages pool=1 count=2 @softirq:0");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*stream)->Send(lab, alloc).ok());
  EXPECT_EQ((*stream)->in_flight(), 3u);
  std::vector<uint64_t> pfns;
  for (uint64_t i = 1; i <= 3; ++i) {
    absl::StatusOr<v1::ApplyResponse> resp = (*stream)->Receive();
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_FALSE(resp->has_rejected());
    EXPECT_EQ(resp->ops(), 2u + i) << "answers come back in order";
    ASSERT_EQ(resp->results_size(), 1);
    ASSERT_EQ(resp->results(0).pages_size(), 2);
    for (const v1::PageRef& p : resp->results(0).pages()) pfns.push_back(p.page().pfn());
  }
  std::sort(pfns.begin(), pfns.end());
  EXPECT_EQ(std::unique(pfns.begin(), pfns.end()), pfns.end()) << "six distinct pages";

  // A rejected op is the batch's answer, not the stream's end.
  absl::StatusOr<v1::ApplyResponse> rejected =
      (*stream)->Roundtrip(lab, Ops("page_pool_alloc_pages pool=1 count=0"));
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  ASSERT_TRUE(rejected->has_rejected());
  EXPECT_EQ(rejected->rejected().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  absl::StatusOr<v1::ApplyResponse> after = (*stream)->Roundtrip(lab, alloc);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->ops(), 6u);
  EXPECT_TRUE((*stream)->Finish().ok());

  absl::StatusOr<v1::PoolInfo> pool = client_->GetPool(lab, 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_GE(pool->inflight(), 8u) << "the 8 pages handed out are still in flight";

  // A batch for a lab that does not exist ends the stream with NOT_FOUND.
  stream = client_->OpenStream();
  ASSERT_TRUE(stream.ok());
  absl::StatusOr<v1::ApplyResponse> unknown = (*stream)->Roundtrip(999'999, alloc);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_EQ(unknown.status().message(), "lab: lab 999999 does not exist");
}

TEST_F(DaemonTest, QueryServiceReadsPoolsPagesAndViolations) {
  const uint64_t lab = NewLab();
  const v1::ApplyResponse r = MustApply(lab,
                                        "add_device\n"
                                        "bind_driver device=1 flags=1 strategy=legacy\n"
                                        "page_pool_alloc_pages pool=1 count=1 @softirq:0\n");
  ASSERT_EQ(r.results_size(), 3);
  ASSERT_EQ(r.results(2).pages_size(), 1);
  const uint64_t pfn = r.results(2).pages(0).page().pfn();

  absl::StatusOr<v1::PoolInfo> pool = client_->GetPool(lab, 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->id(), 1u);
  EXPECT_EQ(pool->device(), 1u);
  EXPECT_EQ(pool->state(), "active");
  EXPECT_TRUE(pool->has_ifindex());
  EXPECT_GE(pool->inflight(), 1u);

  absl::StatusOr<std::vector<v1::PoolInfo>> pools = client_->ListPools(lab);
  ASSERT_TRUE(pools.ok()) << pools.status();
  ASSERT_EQ(pools->size(), 1u);
  EXPECT_EQ((*pools)[0].id(), 1u);

  absl::StatusOr<v1::PageInfo> page = client_->GetPage(lab, pfn);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->pfn(), pfn);
  EXPECT_TRUE(page->is_pp());
  EXPECT_EQ(page->pool(), 1u);
  EXPECT_EQ(page->generation(), r.results(2).pages(0).page().generation());
  EXPECT_THAT(page->history(), ::testing::Not(IsEmpty()));

  absl::StatusOr<v1::ListViolationsResponse> none = client_->ListViolations(lab);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->violations_size(), 0);
  EXPECT_TRUE(none->counts().empty());

  // Unbinding with that page still held: PP005.
  MustApply(lab, "unbind_driver device=1");
  absl::StatusOr<v1::ListViolationsResponse> v = client_->ListViolations(lab, "PP005");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->violations_size(), 1);
  EXPECT_EQ(v->violations(0).id(), "PP005");
  EXPECT_EQ(v->violations(0).name(), "pending-dma-at-unbind");
  EXPECT_EQ(v->violations(0).op_index(), 3u);
  EXPECT_EQ(v->violations(0).device(), 1u);
  EXPECT_EQ(v->counts().at("PP005"), 1u);
  absl::StatusOr<v1::LabInfo> info = client_->GetLab(lab);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->violations(), 1u);

  pools = client_->ListPools(lab, /*all=*/true);
  ASSERT_TRUE(pools.ok()) << pools.status();
  ASSERT_EQ(pools->size(), 1u);
  EXPECT_NE((*pools)[0].state(), "active") << "unbinding destroyed the pool";
}

TEST_F(DaemonTest, FaultServiceSetAndClearAreOpsInTheTrace) {
  const uint64_t lab = NewLab();
  MustApply(lab, "add_device\nbind_driver device=1 flags=1");
  const std::vector<v1::Op> alloc = Ops("page_pool_alloc_pages pool=1 count=8 @softirq:0");

  v1::SetFault fault;
  fault.set_site("fail_dma_map");
  fault.set_probability(1.0);
  ASSERT_TRUE(client_->SetFault(lab, fault).ok());
  absl::StatusOr<v1::ApplyResponse> r = client_->Apply(lab, alloc);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 1) << "a failed mapping is the kernel's NULL, not a rejection";
  EXPECT_EQ(r->results(0).pages_size(), 0) << "every dma_map fails while the fault is armed";

  ASSERT_TRUE(client_->ClearFaults(lab, "fail_dma_map").ok());
  ASSERT_TRUE(client_->ClearFaults(lab).ok());
  r = client_->Apply(lab, alloc);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 1);
  EXPECT_EQ(r->results(0).pages_size(), 8) << "cleared";

  absl::StatusOr<v1::ExportTraceResponse> trace = client_->ExportTrace(lab);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->ops(), 7u);
  const std::vector<std::string> lines = absl::StrSplit(trace->jsonl(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_THAT(lines[2], HasSubstr("fail_dma_map"));
  absl::StatusOr<v1::Op> set = client::ParseOpLine(lines[2]);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->has_set_fault());
  for (int i : {4, 5}) {
    absl::StatusOr<v1::Op> clear = client::ParseOpLine(lines[i]);
    ASSERT_TRUE(clear.ok()) << clear.status();
    EXPECT_TRUE(clear->has_clear_faults()) << lines[i];
  }
}

TEST_F(DaemonTest, HealthCheck) {
  absl::StatusOr<client::ServingStatus> all = client_->Health();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, client::ServingStatus::kServing);
  for (const char* service : {"ppsim.v1.LabService", "ppsim.v1.OpsService", "ppsim.v1.QueryService",
                              "ppsim.v1.FaultService"}) {
    absl::StatusOr<client::ServingStatus> s = client_->Health(service);
    ASSERT_TRUE(s.ok()) << service << ": " << s.status();
    EXPECT_EQ(*s, client::ServingStatus::kServing) << service;
  }
  absl::StatusOr<client::ServingStatus> unknown = client_->Health("ppsim.v1.NoSuchService");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
}

// ---------------------------------------------------------------------------------------------
// Status codes, each with a message naming the field and the value.

TEST_F(DaemonTest, NotFoundNamesTheUnknownLabPoolOrDevice) {
  absl::StatusOr<v1::LabInfo> lab_info = client_->GetLab(999'999);
  EXPECT_EQ(lab_info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(lab_info.status().message(), "lab: lab 999999 does not exist");
  absl::StatusOr<v1::ApplyResponse> apply = client_->Apply(999'999, Ops("add_device"));
  EXPECT_EQ(apply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(apply.status().message(), "lab: lab 999999 does not exist");
  absl::Status del = client_->DeleteLab(999'999);
  EXPECT_EQ(del.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(del.message(), "lab: lab 999999 does not exist");

  const uint64_t lab = NewLab();
  absl::StatusOr<v1::PoolInfo> pool = client_->GetPool(lab, 9);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pool.status().message(), "pool: pool 9 does not exist");

  // An op naming an unknown device is rejected (the RPC itself succeeds).
  apply = client_->Apply(lab, Ops("bind_driver device=7 flags=1"));
  ASSERT_TRUE(apply.ok()) << apply.status();
  ASSERT_TRUE(apply->has_rejected());
  EXPECT_EQ(apply->rejected().index(), 0u);
  EXPECT_EQ(apply->rejected().code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(apply->rejected().message(), "ops[0] bind_driver: device: device 7 does not exist");
  absl::Status as_status = client::ApplyStatus(*apply);
  EXPECT_EQ(as_status.code(), absl::StatusCode::kNotFound);

  v1::SetFault fault;
  fault.set_site("fail_dma_map");
  absl::Status set = client_->SetFault(999'999, fault);
  EXPECT_EQ(set.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(set.message(), "lab: lab 999999 does not exist");

  // Watch of an unknown lab ends at once with NOT_FOUND.
  absl::StatusOr<std::unique_ptr<client::WatchStream>> w =
      client_->Watch(999'999, {}, [](const v1::Event&) {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->WaitFor(kWaitTimeout));
  absl::Status end = (*w)->Wait();
  EXPECT_EQ(end.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(end.message(), "lab: lab 999999 does not exist");
}

TEST_F(DaemonTest, InvalidArgumentNamesTheFieldAndTheValue) {
  v1::LabConfig config;
  config.set_ram_bytes(12345);
  absl::StatusOr<uint64_t> lab = client_->CreateLab("bad", config);
  EXPECT_EQ(lab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lab.status().message()), StartsWith("config.ram_bytes: 12345 "));

  config.Clear();
  config.set_cpus(0);
  lab = client_->CreateLab("bad", config);
  EXPECT_EQ(lab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lab.status().message()), StartsWith("config.cpus: 0 "));

  config.Clear();
  config.set_profile("v9.99");
  lab = client_->CreateLab("bad", config);
  EXPECT_EQ(lab.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lab.status().message()), StartsWith("config.profile: "));
  EXPECT_THAT(std::string(lab.status().message()), HasSubstr("\"v9.99\""));

  absl::StatusOr<std::vector<v1::LabInfo>> labs = client_->ListLabs();
  ASSERT_TRUE(labs.ok());
  for (const v1::LabInfo& l : *labs) EXPECT_NE(l.name(), "bad") << "no lab from a bad config";

  // An op field out of range is the op's rejection.
  const uint64_t good = NewLab();
  absl::StatusOr<v1::ApplyResponse> r =
      client_->Apply(good, Ops("add_device\nbind_driver device=1 flags=1\n"
                               "page_pool_alloc_pages pool=1 count=70000"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_rejected());
  EXPECT_EQ(r->rejected().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(r->rejected().message(),
            "ops[2] page_pool_alloc_pages: count: 70000 must be in 1..65536");

  // A fault field out of range is the RPC's status, naming the request's field; so is a pfn
  // beyond the lab's memory.
  v1::SetFault fault;
  fault.set_site("fail_dma_map");
  fault.set_interval(0);
  absl::Status s = client_->SetFault(good, fault);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fault.interval: 0 must be >= 1");
  fault.Clear();
  fault.set_site("fail_everything");
  s = client_->SetFault(good, fault);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("fault.site: unknown fault site \"fail_everything\""));

  absl::StatusOr<v1::PageInfo> page = client_->GetPage(good, uint64_t{1} << 50);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(page.status().message()), StartsWith("pfn: 0x4000000000000 "));

  absl::StatusOr<v1::ListViolationsResponse> v = client_->ListViolations(good, "PP999");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()), StartsWith("id: \"PP999\""));

  absl::StatusOr<v1::ReplayTraceResponse> replay =
      client_->ReplayTrace(v1::LabConfig{}, "{\"add_device\":{}}\n{\"add_device\":\n", 0);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(replay.status().message()), StartsWith("jsonl: line 2: "));
}

TEST_F(DaemonTest, FailedPreconditionForADeletedLabAndABindTwice) {
  const uint64_t lab = NewLab();
  absl::StatusOr<v1::ApplyResponse> r =
      client_->Apply(lab, Ops("add_device\nbind_driver device=1 flags=1\n"
                              "bind_driver device=1 flags=1\nadd_device"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_rejected());
  EXPECT_EQ(r->rejected().index(), 2u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(std::string(r->rejected().message()),
              StartsWith("ops[2] bind_driver: device: 1 is bound"));

  ASSERT_TRUE(client_->DeleteLab(lab).ok());
  const std::string deleted = absl::StrCat("lab: lab ", lab, " was deleted");
  absl::StatusOr<v1::LabInfo> info = client_->GetLab(lab);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(info.status().message(), deleted);
  r = client_->Apply(lab, Ops("add_device"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), deleted);
  absl::StatusOr<std::vector<v1::PoolInfo>> pools = client_->ListPools(lab);
  EXPECT_EQ(pools.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pools.status().message(), deleted);
  absl::StatusOr<v1::ExportTraceResponse> trace = client_->ExportTrace(lab);
  EXPECT_EQ(trace.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::Status again = client_->DeleteLab(lab);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), absl::StrCat("lab: lab ", lab, " was already deleted"));
}

TEST_F(DaemonTest, ResourceExhaustedForAMessageOverTheDaemonsLimit) {
  // ppsimd accepts messages up to 64 MiB (server/service/limits.h); this one is 1 MiB more.
  constexpr size_t kLimit = size_t{64} << 20;
  const std::string jsonl(kLimit + (1 << 20), ' ');
  absl::StatusOr<v1::ReplayTraceResponse> r = client_->ReplayTrace(v1::LabConfig{}, jsonl, 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::to_string(kLimit)))
      << "the message names the limit";

  // The daemon goes on serving.
  absl::StatusOr<client::ServingStatus> health = client_->Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, client::ServingStatus::kServing);
  EXPECT_TRUE(daemon_->running());
}

// ---------------------------------------------------------------------------------------------
// Apply stops at the first bad op.

TEST_F(DaemonTest, ApplyStopsAtTheFirstBadOp) {
  const uint64_t lab = NewLab();
  MustApply(lab, "advance_time ns=1000");  // the trace does not start with this batch
  absl::StatusOr<v1::ApplyResponse> r = client_->Apply(
      lab, Ops("add_device\n"                                          // ops[0]
               "bind_driver device=1 flags=1\n"                        // ops[1]
               "page_pool_alloc_pages pool=1 count=2 @softirq:0\n"     // ops[2]
               "page_pool_alloc_pages pool=1 count=0 @softirq:0\n"     // ops[3]: bad
               "add_device\n"                                          // ops[4]: never run
               "page_pool_alloc_pages pool=1 count=5 @softirq:0\n"));  // ops[5]: never run
  ASSERT_TRUE(r.ok()) << "a rejected op is not an RPC error: " << r.status();
  ASSERT_TRUE(r->has_rejected());
  EXPECT_EQ(r->rejected().index(), 3u);
  EXPECT_EQ(r->rejected().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(r->rejected().message(), "ops[3] page_pool_alloc_pages: count: 0 must be in 1..65536");
  ASSERT_EQ(r->results_size(), 3) << "one result per applied op";
  EXPECT_EQ(r->results(0).device(), 1u);
  EXPECT_EQ(r->results(2).pages_size(), 2);
  EXPECT_EQ(r->ops(), 4u) << "1 earlier op + the 3 applied ones";

  // The lab agrees: 4 ops in its trace, the last the 2-page alloc, and no second device.
  absl::StatusOr<v1::LabInfo> info = client_->GetLab(lab);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ops(), 4u);
  EXPECT_EQ(info->digest(), r->digest());
  absl::StatusOr<v1::ExportTraceResponse> trace = client_->ExportTrace(lab);
  ASSERT_TRUE(trace.ok());
  const std::vector<std::string> lines = absl::StrSplit(trace->jsonl(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << trace->jsonl();
  absl::StatusOr<v1::Op> last = client::ParseOpLine(lines[3]);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_page_pool_alloc_pages());
  EXPECT_EQ(last->page_pool_alloc_pages().count(), 2u);

  absl::StatusOr<v1::ApplyResponse> probe = client_->Apply(lab, Ops("bind_driver device=2"));
  ASSERT_TRUE(probe.ok());
  ASSERT_TRUE(probe->has_rejected());
  EXPECT_EQ(probe->rejected().code(), static_cast<int>(grpc::StatusCode::NOT_FOUND))
      << "ops[4] add_device never ran: " << probe->rejected().message();
  EXPECT_EQ(probe->ops(), 4u);
}

// ---------------------------------------------------------------------------------------------
// Watch.

TEST_F(DaemonTest, WatchDeliversTheViolationOfAnUnbindWithAPageHeld) {
  const uint64_t other = NewLab();
  const uint64_t lab = NewLab();
  absl::Mutex mu;
  std::vector<v1::Event> events;
  absl::StatusOr<std::unique_ptr<client::WatchStream>> w =
      client_->Watch(lab, {v1::EVENT_VIOLATION, v1::EVENT_DEVICE}, [&](const v1::Event& e) {
        absl::MutexLock lock(&mu);
        events.push_back(e);
      });
  ASSERT_TRUE(w.ok()) << w.status();
  auto count = [&](v1::EventKind kind) {
    absl::MutexLock lock(&mu);
    return std::count_if(events.begin(), events.end(),
                         [&](const v1::Event& e) { return e.kind() == kind; });
  };
  // Client::Watch does not say when the daemon has subscribed it: add devices until one
  // device event arrives, so the scenario below cannot run before the subscription.
  ASSERT_TRUE(Eventually([&] {
    MustApply(lab, "add_device");
    return Eventually([&] { return count(v1::EVENT_DEVICE) > 0; }, absl::Milliseconds(200));
  })) << "no device event within the deadline";
  const uint64_t devices_added = MustApply(lab, "advance_time ns=1").ops() - 1;

  MustApply(other, kUnbindWithPageHeld);  // another lab: filtered out
  const v1::ApplyResponse r =
      MustApply(lab, absl::StrCat("add_device\n"
                                  "bind_driver device=",
                                  devices_added + 1,
                                  " flags=1 strategy=legacy\n"
                                  "page_pool_alloc_pages pool=1 count=1 @softirq:0\n"
                                  "unbind_driver device=",
                                  devices_added + 1, "\n"));
  EXPECT_EQ(r.violations(), 1u);
  const uint64_t unbind_index = r.ops() - 1;

  ASSERT_TRUE(Eventually([&] { return count(v1::EVENT_VIOLATION) > 0; }))
      << "the PP005 event never arrived";
  EXPECT_FALSE((*w)->WaitFor(absl::ZeroDuration())) << "the stream is still open";
  (*w)->Cancel();
  EXPECT_TRUE((*w)->Wait().ok()) << "ended by Cancel";

  absl::MutexLock lock(&mu);
  int violations = 0;
  for (const v1::Event& e : events) {
    EXPECT_EQ(e.lab(), lab) << "only the watched lab: " << e.text();
    EXPECT_THAT(e.kind(), AnyOf(v1::EVENT_VIOLATION, v1::EVENT_DEVICE)) << "only those kinds";
    if (e.kind() != v1::EVENT_VIOLATION) continue;
    ++violations;
    EXPECT_THAT(e.text(), StartsWith("PP005"));
    EXPECT_THAT(e.text(), HasSubstr("pending-dma-at-unbind"));
    EXPECT_EQ(e.op_index(), unbind_index) << "raised by unbind_driver";
    EXPECT_EQ(e.device(), devices_added + 1);
  }
  EXPECT_EQ(violations, 1);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].seq(), events[i - 1].seq()) << "in the lab's order";
  }
}

// A watcher that does not read while batches produce many events is told, when it reads again,
// how many it missed (EVENT_LAGGED) and gets the events after the gap: every event is either
// received or counted, and the daemon's memory stays bounded by its queue. A watcher that
// keeps up with the same batches on another connection gets every event.
TEST_F(DaemonTest, WatchTellsAConsumerThatFellBehindHowManyItMissed) {
  const uint64_t lab = NewLab();

  // The slow consumer: its own connection, and no Read() until the end.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Keep the receive window at HTTP/2's initial 64 KiB: without BDP probing it does not grow,
  // so what overflows is the daemon's queue, not however much the transport would buffer.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(daemon_->grpc_target(), grpc::InsecureChannelCredentials(), args);
  std::unique_ptr<v1::QueryService::Stub> stub = v1::QueryService::NewStub(channel);
  grpc::ClientContext slow_ctx;
  slow_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchRequest req;
  req.set_lab(lab);
  std::unique_ptr<grpc::ClientReader<v1::Event>> slow = stub->Watch(&slow_ctx, req);
  slow->WaitForInitialMetadata();  // subscribed from here on (event_watcher.h)

  std::atomic<uint64_t> fast_events{0};
  absl::StatusOr<std::unique_ptr<client::WatchStream>> fast =
      client_->Watch(lab, {}, [&](const v1::Event&) { ++fast_events; });
  ASSERT_TRUE(fast.ok());
  uint64_t published = 0;
  ASSERT_TRUE(Eventually([&] {
    MustApply(lab, "add_device");
    ++published;
    return Eventually([&] { return fast_events.load() > 0; }, absl::Milliseconds(200));
  }));
  ASSERT_TRUE(Eventually([&] { return fast_events.load() == published; }));

  // Device names go into the events' text: ~1 KiB events fill the transport's flow-control
  // window quickly, so the daemon's bounded queue (4096 events) is what overflows. Batches
  // of 1000 each fit in that queue, and the fast watcher drains each before the next.
  const std::string name(1000, 'n');
  std::vector<v1::Op> batch(1000);
  for (v1::Op& op : batch) op.mutable_add_device()->set_name(name);
  constexpr int kBatches = 12;
  for (int i = 0; i < kBatches; ++i) {
    absl::StatusOr<v1::ApplyResponse> r = client_->Apply(lab, batch);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(r->has_rejected()) << r->rejected().message();
    published += batch.size();
    ASSERT_TRUE(Eventually([&] { return fast_events.load() == published; }))
        << "the reading watcher fell behind: " << fast_events.load() << " of " << published;
  }

  uint64_t received = 0, dropped = 0, lags = 0, next_seq = 0;
  v1::Event e;
  while (received + dropped < published && slow->Read(&e)) {
    EXPECT_EQ(e.lab(), lab);
    if (e.kind() == v1::EVENT_LAGGED) {
      ++lags;
      dropped += e.dropped();
      next_seq += e.dropped();  // the gap is exactly the events it counts
      continue;
    }
    if (next_seq != 0) {
      EXPECT_EQ(e.seq(), next_seq) << "a gap only where a lag event says so";
    }
    next_seq = e.seq() + 1;
    ++received;
  }
  EXPECT_EQ(received + dropped, published) << "received " << received << ", dropped " << dropped;
  EXPECT_GE(lags, 1u);
  // At least what overflowed the queue was dropped: the queue bounds the daemon's memory.
  EXPECT_GE(dropped, published - service::kWatchQueueEvents - 1000);
  EXPECT_LT(received, published);
  slow_ctx.TryCancel();
  slow->Finish();

  EXPECT_FALSE((*fast)->WaitFor(absl::ZeroDuration())) << "the reading watcher is still open";
  (*fast)->Cancel();
  EXPECT_TRUE((*fast)->Wait().ok());
  EXPECT_EQ(fast_events.load(), published);
}

// ---------------------------------------------------------------------------------------------
// ppctl against the daemon.

TEST_F(DaemonTest, PpctlExitCodes) {
  testing::CommandResult health =
      RunCommand({PPCTL_PATH, "health", "--target", daemon_->grpc_target()});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  testing::CommandResult pools =
      RunCommand({PPCTL_PATH, "pools", "--lab", "999", "--target", daemon_->grpc_target()});
  EXPECT_EQ(pools.exit_code, 64 + 5) << pools.err;
  EXPECT_THAT(pools.err, HasSubstr("NOT_FOUND"));
  EXPECT_THAT(pools.err, HasSubstr("lab: lab 999 does not exist"));

  // An address where nothing listens: a port bound (so nobody else takes it) but not listening.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string dead = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  testing::CommandResult unreachable =
      RunCommand({PPCTL_PATH, "pools", "--lab", "1", "--target", dead, "--connect-timeout", "5"});
  testing::CommandResult unreachable_health =
      RunCommand({PPCTL_PATH, "health", "--target", dead, "--connect-timeout", "5"});
  close(fd);
  EXPECT_EQ(unreachable.exit_code, 64 + 14) << unreachable.err;
  EXPECT_THAT(unreachable.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(unreachable.err, HasSubstr(dead));
  EXPECT_EQ(unreachable_health.exit_code, 64 + 14) << unreachable_health.err;

  // A usage error is 64 and reaches no daemon.
  testing::CommandResult usage = RunCommand({PPCTL_PATH, "pools", "--target", dead});
  EXPECT_EQ(usage.exit_code, 64) << usage.err;
}

// ---------------------------------------------------------------------------------------------
// SIGTERM in the middle of traffic: a daemon of its own.

TEST(DaemonShutdownTest, SigtermDuringTrafficExitsZeroAndEndsEveryCall) {
  std::unique_ptr<DaemonProcess> daemon = DaemonProcess::Start();
  ASSERT_NE(daemon, nullptr);
  std::unique_ptr<Client> setup = MustConnect(daemon->grpc_target());
  ASSERT_NE(setup, nullptr);
  absl::StatusOr<uint64_t> lab = setup->CreateLab("traffic", v1::LabConfig{});
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(setup->Apply(*lab, Ops("add_device\nbind_driver device=1 flags=1")).ok());

  // A deadline well past the daemon's 5 s grace: a call that hangs shows up as
  // DEADLINE_EXCEEDED, which the checks below reject.
  Client::Options options;
  options.rpc_timeout = absl::Seconds(30);
  const std::vector<v1::Op> batch =
      Ops("page_pool_alloc_pages pool=1 count=4 @softirq:0\n"
          "advance_time ns=1000\n"
          "page_pool_alloc_pages pool=1 count=4 @softirq:0\n"
          "advance_time ns=1000\n");

  struct Worker {
    std::unique_ptr<Client> client;
    std::thread thread;
    std::atomic<uint64_t> ok{0};
    absl::Status end;
    absl::Time end_time;
    std::atomic<bool> done{false};
  };
  constexpr int kUnary = 4;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < kUnary + 1; ++i) {
    auto w = std::make_unique<Worker>();
    w->client = MustConnect(daemon->grpc_target(), options);
    ASSERT_NE(w->client, nullptr);
    workers.push_back(std::move(w));
  }
  for (int i = 0; i < kUnary; ++i) {
    Worker* w = workers[i].get();
    w->thread = std::thread([w, batch, lab = *lab] {
      while (true) {
        absl::StatusOr<v1::ApplyResponse> r = w->client->Apply(lab, batch);
        if (!r.ok()) {
          w->end = r.status();
          w->end_time = absl::Now();
          break;
        }
        // A completed call answers for its whole batch: a result per op up to the rejected
        // one, if any (pages may run out).
        if (r->has_rejected()) {
          EXPECT_EQ(r->rejected().index(), static_cast<uint32_t>(r->results_size()));
        } else {
          EXPECT_EQ(r->results_size(), static_cast<int>(batch.size()));
        }
        ++w->ok;
      }
      w->done = true;
    });
  }
  // One bidirectional stream sending batch after batch.
  Worker* sw = workers[kUnary].get();
  sw->thread = std::thread([sw, batch, lab = *lab] {
    absl::StatusOr<std::unique_ptr<client::OpStream>> s = sw->client->OpenStream();
    if (!s.ok()) {
      sw->end = s.status();
      sw->done = true;
      return;
    }
    while (true) {
      absl::StatusOr<v1::ApplyResponse> r = (*s)->Roundtrip(lab, batch);
      if (!r.ok()) {
        sw->end = r.status();
        sw->end_time = absl::Now();
        break;
      }
      ++sw->ok;
    }
    (void)(*s)->Finish();
    sw->done = true;
  });
  // And a watcher, which the shutdown ends with UNAVAILABLE.
  absl::StatusOr<std::unique_ptr<client::WatchStream>> watch =
      setup->Watch(0, {}, [](const v1::Event&) {});
  ASSERT_TRUE(watch.ok());

  auto all_busy = [&] {
    for (const auto& w : workers) {
      if (w->ok.load() < 3) return false;
    }
    return true;
  };
  const bool busy = Eventually(all_busy);
  EXPECT_TRUE(busy) << "the clients never got going";

  const absl::Time sent = absl::Now();
  std::optional<int> status = daemon->Terminate(absl::Seconds(20));
  const absl::Duration shutdown = absl::Now() - sent;
  ASSERT_TRUE(status.has_value()) << "ppsimd did not exit within 20 s of SIGTERM:\n"
                                  << daemon->log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << testing::DescribeWaitStatus(*status) << "\n"
      << daemon->log();
  EXPECT_LT(shutdown, absl::Seconds(12)) << "5 s of grace for in-flight calls, then out";

  // Every client loop ends, and only with UNAVAILABLE or CANCELLED.
  const bool all_done = Eventually([&] {
    for (const auto& w : workers) {
      if (!w->done.load()) return false;
    }
    return true;
  });
  EXPECT_TRUE(all_done) << "a call hung after the daemon exited";
  for (size_t i = 0; i < workers.size(); ++i) {
    Worker& w = *workers[i];
    if (!w.done.load()) {
      // Already a failure: do not hang the test binary too, and leave the thread its state.
      w.thread.detach();
      (void)workers[i].release();
      continue;
    }
    w.thread.join();
    std::cerr << "worker " << i << ": " << w.ok.load() << " batches, then after "
              << (w.end_time - sent) << ": " << w.end << "\n";
    EXPECT_GE(w.ok.load(), 3u) << "worker " << i;
    EXPECT_THAT(w.end.code(), AnyOf(absl::StatusCode::kUnavailable, absl::StatusCode::kCancelled))
        << "worker " << i << (i == kUnary ? " (stream)" : "") << ": " << w.end;
  }
  ASSERT_TRUE((*watch)->WaitFor(kWaitTimeout)) << "the watch stream never ended";
  absl::Status watch_end = (*watch)->Wait();
  EXPECT_EQ(watch_end.code(), absl::StatusCode::kUnavailable) << watch_end;
  EXPECT_EQ(watch_end.message(), "ppsimd: shutting down");

  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(daemon->ready_file(), ec))
      << "the ready file must not point at a dead daemon";
  const std::string log = daemon->log();
  EXPECT_THAT(log, HasSubstr("TERM received: shutting down"));
  EXPECT_THAT(log, HasSubstr("\"stopped\""));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("\"level\":\"error\""))) << log;
}

}  // namespace
}  // namespace ppsim
