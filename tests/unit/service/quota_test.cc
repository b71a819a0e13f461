// server/service/quota: every quota and the memory cap, through the services as a client sees
// them (policy_server.h): RESOURCE_EXHAUSTED with the quota, its limit, its flag and the value
// found in the message, the refused call changing nothing (same digest), other identities
// unaffected, and the quota given back when its resource is. Time and RSS are injected.
#include "server/service/quota.h"

#include <grpcpp/grpcpp.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/journal.h"
#include "tests/unit/service/policy_server.h"
#include "tests/unit/service/test_server.h"
#include "tests/unit/service/read_trace.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using testing::AddDevice;
using testing::AllocPage;
using testing::BindDriver;
using testing::kAliceToken;
using testing::kBobToken;
using testing::PolicyServer;

void ExpectExhausted(const grpc::Status& s, const std::string& want) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr(want));
}

TEST(ParseSizeTest, CountsAndSizes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("1000"), 1000u);
  EXPECT_EQ(*ParseSize("64k"), 64'000u);
  EXPECT_EQ(*ParseSize("4Mi"), uint64_t{4} << 20);
  EXPECT_EQ(*ParseSize("512MiB"), uint64_t{512} << 20);
  EXPECT_EQ(*ParseSize("16TiB"), uint64_t{16} << 40);
  EXPECT_EQ(*ParseSize("3G"), 3'000'000'000u);
  EXPECT_THAT(std::string(ParseSize("lots").status().message()),
              HasSubstr("\"lots\" is not a number"));
  EXPECT_THAT(std::string(ParseSize("5 parsecs").status().message()),
              HasSubstr("unknown suffix \" parsecs\""));
  EXPECT_THAT(std::string(ParseSize("99999999999TiB").status().message()), HasSubstr("too large"));
}

TEST(QuotaTest, LabsPerIdentity) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.labs = 2;
  PolicyServer server(l);
  const uint64_t first = server.MustCreateLab(kAliceToken);
  server.MustCreateLab(kAliceToken);
  uint64_t id = 0;
  ExpectExhausted(server.CreateLab(kAliceToken, &id),
                  "quota: labs per identity is 2 (--max-labs); alice has 2");
  EXPECT_EQ(server.labs.List().size(), 2u) << "the refused lab was not created";
  server.MustCreateLab(kBobToken);  // per identity: bob has his own two
  v1::DeleteLabRequest del;
  del.set_lab(first);
  v1::DeleteLabResponse deleted;
  ASSERT_TRUE(server.lab_stub->DeleteLab(PolicyServer::As(kAliceToken).get(), del, &deleted).ok());
  EXPECT_TRUE(server.CreateLab(kAliceToken, &id).ok()) << "a deleted lab gives its slot back";
}

TEST(QuotaTest, RamPerLab) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.lab_ram_bytes = uint64_t{1} << 30;
  PolicyServer server(l);
  uint64_t id = 0;
  ExpectExhausted(server.CreateLab(kAliceToken, &id, uint64_t{2} << 30),
                  "quota: config.ram_bytes per lab is at most 1073741824 (--max-lab-ram); asked "
                  "for 2147483648");
  EXPECT_EQ(server.quota.labs_of("alice"), 0u) << "a refused lab holds no slot";
  EXPECT_TRUE(server.CreateLab(kAliceToken, &id, uint64_t{1} << 30).ok());
  v1::ReplayTraceRequest replay;
  replay.mutable_config()->set_ram_bytes(uint64_t{2} << 30);
  v1::ReplayTraceResponse replayed;
  ExpectExhausted(server.lab_stub->ReplayTrace(PolicyServer::As(kAliceToken).get(), replay,
                                               &replayed),
                  "(--max-lab-ram); asked for 2147483648");
}

TEST(QuotaTest, OpsPerBatchOnApplyAndStream) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.batch_ops = 2;
  PolicyServer server(l);
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice(), BindDriver(1)}).ok());
  const uint64_t digest = server.Digest(lab);
  const char* want = "quota: ops per batch is 2 (--max-batch-ops); the batch has 3 ops";
  v1::ApplyResponse resp;
  ExpectExhausted(server.Apply(kAliceToken, lab, {AllocPage(1), AllocPage(1), AllocPage(1)}, &resp),
                  want);
  EXPECT_EQ(resp.results_size(), 0);
  EXPECT_EQ(server.Digest(lab), digest);

  auto ctx = PolicyServer::As(kAliceToken);
  auto stream = server.ops_stub->Stream(ctx.get());
  v1::ApplyRequest batch;
  batch.set_lab(lab);
  for (int i = 0; i < 3; ++i) *batch.add_ops() = AllocPage(1);
  stream->Write(batch);
  stream->WritesDone();
  v1::ApplyResponse r;
  EXPECT_FALSE(stream->Read(&r));
  ExpectExhausted(stream->Finish(), want);
  EXPECT_EQ(server.Digest(lab), digest);
}

TEST(QuotaTest, MaterialisedFramesPerLab) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.lab_frames = 1;
  PolicyServer server(l);
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  // Checked before a batch: this one starts from no frames and makes a section (2^14 frames).
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice(), BindDriver(1), AllocPage(1)}).ok());
  const uint64_t digest = server.Digest(lab);
  ExpectExhausted(server.Apply(kAliceToken, lab, {AllocPage(1)}),
                  absl::StrCat("quota: materialised frames per lab is 1 (--max-lab-frames); lab ",
                               lab, " has 16384 and takes no more ops"));
  v1::SetFaultRequest fault;
  fault.set_lab(lab);
  fault.mutable_fault()->set_site("fail_dma_map");
  fault.mutable_fault()->set_probability(1);
  v1::SetFaultResponse set;
  ExpectExhausted(server.fault_stub->SetFault(PolicyServer::As(kAliceToken).get(), fault, &set),
                  "materialised frames per lab is 1");
  EXPECT_EQ(server.Digest(lab), digest);
  EXPECT_TRUE(server.GetLab(kAliceToken, lab).ok()) << "reads still work";
}

// Charged per op (issue 21 item 3): a batch admitted with no frames stops at the op after the
// one that materialised a section, as its in-band rejection; the ops before stay applied.
TEST(QuotaTest, FramesAreChargedPerOpInsideABatch) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.lab_frames = 1;
  PolicyServer server(l);
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  v1::ApplyResponse resp;
  ASSERT_TRUE(server
                  .Apply(kAliceToken, lab,
                         {AddDevice(), BindDriver(1), AllocPage(1), AllocPage(1), AllocPage(1)},
                         &resp)
                  .ok());
  ASSERT_TRUE(resp.has_rejected());
  EXPECT_EQ(resp.rejected().index(), 3u);
  EXPECT_EQ(resp.rejected().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(resp.rejected().message(),
            absl::StrCat("ops[3]: quota: materialised frames per lab is 1 (--max-lab-frames); "
                         "lab ", lab, " has 16384 and takes no more ops (read, export or delete it)"));
  EXPECT_EQ(resp.ops(), 3u);
  EXPECT_EQ(resp.results_size(), 3);
}

// ReplayTrace's scratch lab is charged per op too: a trace that grows past the frames quota
// stops before the op after the crossing, naming the quota (issue 21 item 3).
TEST(QuotaTest, ReplayTraceIsChargedPerOp) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.lab_frames = 1;
  PolicyServer server(l);
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice(), BindDriver(1), AllocPage(1)}).ok());
  v1::ExportTraceRequest ex;
  ex.set_lab(lab);
  v1::ExportTraceResponse trace;
  ASSERT_TRUE(::ppsim::testing::ReadTrace(server.lab_stub.get(), PolicyServer::As(kAliceToken).get(), ex, &trace).ok());
  ASSERT_EQ(trace.ops(), 3u);
  const std::string last_line =
      trace.jsonl().substr(trace.jsonl().rfind('\n', trace.jsonl().size() - 2) + 1);
  v1::ReplayTraceRequest replay;
  *replay.mutable_config() = trace.config();
  replay.set_jsonl(trace.jsonl());
  v1::ReplayTraceResponse replayed;
  ASSERT_TRUE(
      server.lab_stub->ReplayTrace(PolicyServer::As(kAliceToken).get(), replay, &replayed).ok())
      << "the three ops a served lab took, a replay takes";
  replay.set_jsonl(trace.jsonl() + last_line);  // one more page: past the quota
  ExpectExhausted(
      server.lab_stub->ReplayTrace(PolicyServer::As(kAliceToken).get(), replay, &replayed),
      "trace: replay stopped before op #3: quota: materialised frames per lab is 1 "
      "(--max-lab-frames); the replay's lab has 16384 and the replay stops");
}

TEST(QuotaTest, WatchStreamsPerIdentity) {
  QuotaLimits l = QuotaLimits::Unlimited();
  l.watch_streams = 1;
  PolicyServer server(l);
  auto first_ctx = PolicyServer::As(kAliceToken);
  auto first = server.query_stub->Watch(first_ctx.get(), v1::WatchRequest());
  first->WaitForInitialMetadata();
  auto second_ctx = PolicyServer::As(kAliceToken);
  auto second = server.query_stub->Watch(second_ctx.get(), v1::WatchRequest());
  v1::Event ev;
  EXPECT_FALSE(second->Read(&ev));
  ExpectExhausted(second->Finish(),
                  "quota: watch streams per identity is 1 (--max-watch-streams); alice has 1 open");
  auto bob_ctx = PolicyServer::As(kBobToken);
  auto bob = server.query_stub->Watch(bob_ctx.get(), v1::WatchRequest());
  bob->WaitForInitialMetadata();
  EXPECT_EQ(server.quota.watches_of("bob"), 1u) << "bob has his own slot";
  first_ctx->TryCancel();
  while (first->Read(&ev)) {
  }
  first->Finish();
  // The slot comes back when the server has finished with the stream.
  for (int i = 0; i < 500 && server.quota.watches_of("alice") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.quota.watches_of("alice"), 0u);
  bob_ctx->TryCancel();
  while (bob->Read(&ev)) {
  }
  bob->Finish();
}

TEST(QuotaTest, OpsPerSecondIsATokenBucketPerIdentity) {
  std::atomic<int64_t> now_ns{1'000'000'000};
  QuotaLimits l = QuotaLimits::Unlimited();
  l.ops_per_second = 10;
  PolicyServer server(l, [&] { return now_ns.load(); });
  const uint64_t alice = server.MustCreateLab(kAliceToken);
  const uint64_t bob = server.MustCreateLab(kBobToken);
  std::vector<v1::Op> ten(10, AddDevice());
  ASSERT_TRUE(server.Apply(kAliceToken, alice, ten).ok()) << "a full bucket: one second of ops";
  const uint64_t digest = server.Digest(alice);
  ExpectExhausted(server.Apply(kAliceToken, alice, {AddDevice()}),
                  "quota: ops per second per identity is 10 (--max-ops-per-second); alice must "
                  "wait 101 ms for a batch of 1 ops");
  EXPECT_EQ(server.Digest(alice), digest);
  EXPECT_TRUE(server.Apply(kBobToken, bob, {AddDevice()}).ok()) << "bob has his own bucket";
  now_ns += 100'000'000;  // 100 ms: one op's worth
  EXPECT_TRUE(server.Apply(kAliceToken, alice, {AddDevice()}).ok());
  ExpectExhausted(server.Apply(kAliceToken, alice, {AddDevice()}), "alice must wait");
  // A batch bigger than the burst runs from a full bucket and leaves it in debt.
  now_ns += 1'000'000'000;
  std::vector<v1::Op> thirty(30, AddDevice());
  EXPECT_TRUE(server.Apply(kAliceToken, alice, thirty).ok());
  now_ns += 1'000'000'000;
  ExpectExhausted(server.Apply(kAliceToken, alice, {AddDevice()}), "must wait 1101 ms");
}

TEST(QuotaTest, MemoryCapRefusesNewLabsAndOps) {
  std::atomic<int64_t> now_ns{0};
  std::atomic<uint64_t> rss{100};
  QuotaLimits l = QuotaLimits::Unlimited();
  l.memory_cap_bytes = 1000;
  PolicyServer server(l, [&] { return now_ns.load(); }, [&] { return rss.load(); });
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice()}).ok());
  const uint64_t digest = server.Digest(lab);
  rss = 1000;
  now_ns += 60'000'000;  // past the 50 ms the last sample is trusted for
  ExpectExhausted(server.Apply(kAliceToken, lab, {AddDevice()}),
                  "memory: ppsimd's resident memory is 1000 bytes, at or over --memory-cap 1000 "
                  "bytes; ops are refused until labs are deleted");
  uint64_t id = 0;
  ExpectExhausted(server.CreateLab(kBobToken, &id), "; new labs are refused");
  EXPECT_EQ(server.Digest(lab), digest);
  EXPECT_EQ(server.labs.List().size(), 1u);
  rss = 999;
  now_ns += 60'000'000;
  EXPECT_TRUE(server.Apply(kAliceToken, lab, {AddDevice()}).ok()) << "under the cap again";
}

TEST(QuotaTest, UnlimitedAdmitsEverything) {
  EventHub hub;
  LabRegistry labs(&hub);
  Quota q;  // QuotaLimits::Unlimited()
  Identity who{"alice", false};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(q.ReserveLab(who, uint64_t{16} << 40).ok());
  absl::StatusOr<std::shared_ptr<LabEntry>> e = labs.Create("", sim::LabConfig{}, "alice");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(q.AdmitBatch(who, **e, 1'000'000).ok());
  std::vector<WatchSlot> slots;
  for (int i = 0; i < 100; ++i) slots.push_back(*q.AdmitWatch(who));
  EXPECT_EQ(q.watches_of("alice"), 100u);
  slots.clear();
  EXPECT_EQ(q.watches_of("alice"), 0u);
}

// After a restart (ppsimd: LabRegistry::Recover, then Quota::AdoptLabs): the journal's labs
// count against their owners, so --max-labs still holds, and are theirs, so a non-admin's
// Watch of every lab sees them. A quota that shrank keeps every lab and reports who is over.
TEST(QuotaTest, LabsRebuiltFromTheJournalCountForTheirOwners) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("ppsim_quota_test.", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / store::kJournalFileName).string();
  {
    absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(path);
    ASSERT_TRUE(j.ok()) << j.status();
    LabRegistry before(nullptr, j->get());
    ASSERT_TRUE(before.Create("a1", sim::LabConfig{}, "alice").ok());
    ASSERT_TRUE(before.Create("a2", sim::LabConfig{}, "alice").ok());
    ASSERT_TRUE(before.Create("b1", sim::LabConfig{}, "bob").ok());
  }
  absl::StatusOr<std::unique_ptr<store::Journal>> j = store::Journal::Open(path);
  ASSERT_TRUE(j.ok()) << j.status();
  EventHub hub;
  LabRegistry labs(&hub, j->get());
  ASSERT_TRUE(labs.Recover().ok());

  QuotaLimits shrunk = QuotaLimits::Unlimited();
  shrunk.labs = 1;
  Quota tight(shrunk);
  EXPECT_EQ(tight.AdoptLabs(labs), 1u) << "alice is over a quota of 1";
  EXPECT_EQ(tight.labs_of("alice"), 2u) << "and keeps both labs";
  EXPECT_EQ(labs.List().size(), 3u);

  QuotaLimits l = QuotaLimits::Unlimited();
  l.labs = 2;
  Quota quota(l);
  EXPECT_EQ(quota.AdoptLabs(labs), 0u);
  EXPECT_EQ(quota.AdoptLabs(labs), 0u);
  EXPECT_EQ(quota.labs_of("alice"), 2u) << "adopting twice counts once";
  EXPECT_EQ(quota.labs_of("bob"), 1u);

  Authenticator auth = testing::TestAuthenticator();
  Services services(&labs, &hub, nullptr, CallPolicy{&auth, &quota, kMaxMessageBytes});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  services.AddTo(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto lab_stub = v1::LabService::NewStub(channel);
  auto ops_stub = v1::OpsService::NewStub(channel);
  auto query_stub = v1::QueryService::NewStub(channel);

  v1::LabInfo info;
  ExpectExhausted(
      lab_stub->CreateLab(PolicyServer::As(kAliceToken).get(), v1::CreateLabRequest(), &info),
      "quota: labs per identity is 2 (--max-labs); alice has 2");
  EXPECT_EQ(labs.List().size(), 3u) << "the refused lab was not created";

  // Bob's rebuilt lab's events first, then alice's: the first event alice sees is hers.
  auto ctx = PolicyServer::As(kAliceToken);
  auto reader = query_stub->Watch(ctx.get(), v1::WatchRequest());
  reader->WaitForInitialMetadata();
  for (const auto& [token, lab] : {std::pair{kBobToken, 3}, std::pair{kAliceToken, 1}}) {
    v1::ApplyRequest req;
    req.set_lab(lab);
    *req.add_ops() = AddDevice();
    *req.add_ops() = BindDriver(1);
    v1::ApplyResponse resp;
    grpc::Status s = ops_stub->Apply(PolicyServer::As(token).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  v1::Event ev;
  ASSERT_TRUE(reader->Read(&ev)) << "alice's Watch of every lab sees her rebuilt lab";
  EXPECT_EQ(ev.lab(), 1u);
  ctx->TryCancel();
  while (reader->Read(&ev)) EXPECT_EQ(ev.lab(), 1u);
  reader->Finish();

  // The owner index also gives a deleted rebuilt lab's slot back.
  v1::DeleteLabRequest del;
  del.set_lab(1);
  v1::DeleteLabResponse deleted;
  ASSERT_TRUE(lab_stub->DeleteLab(PolicyServer::As(kAliceToken).get(), del, &deleted).ok());
  EXPECT_TRUE(
      lab_stub->CreateLab(PolicyServer::As(kAliceToken).get(), v1::CreateLabRequest(), &info).ok());

  hub.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "test: shutting down"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ppsim::service
