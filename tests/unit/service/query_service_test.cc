// server/service/query_service on an in-process server: pools, pages and violations read back,
// and Watch: events as they happen, filters, a consumer that falls behind, server shutdown.
#include "server/service/query_service.h"

#include <regex>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/test_server.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TestServer;

// docs/design.md §3.6 legacy: unbinding with a page in flight leaves its mapping behind, which
// dma-debug reports (PP005, with a kernel log line).
std::vector<v1::Op> UnbindWithPageInFlight() {
  return {testing::AddDevice(), testing::BindDriver(1, "legacy"), testing::AllocPage(1),
          testing::UnbindDriver(1)};
}

TEST(QueryServiceTest, GetPoolAndListPools) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  server.MustApply(lab, {testing::AddDevice(), testing::BindDriver(1), testing::AllocPage(1)});

  grpc::ClientContext c1;
  v1::GetPoolRequest get;
  get.set_lab(lab);
  get.set_pool(1);
  v1::PoolInfo pool;
  ASSERT_TRUE(server.query_stub->GetPool(&c1, get, &pool).ok());
  EXPECT_EQ(pool.id(), 1u);
  EXPECT_TRUE(pool.has_ifindex());
  EXPECT_GE(pool.inflight(), 1u) << "the page handed out, plus the refill the pool holds";
  EXPECT_EQ(pool.state(), "active");

  grpc::ClientContext c2;
  get.set_pool(9);
  grpc::Status s = server.query_stub->GetPool(&c2, get, &pool);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "pool: pool 9 does not exist");

  grpc::ClientContext c3;
  v1::ListPoolsRequest list;
  list.set_lab(lab);
  v1::ListPoolsResponse pools;
  ASSERT_TRUE(server.query_stub->ListPools(&c3, list, &pools).ok());
  ASSERT_EQ(pools.pools_size(), 1);
  EXPECT_EQ(pools.pools(0).id(), 1u);
}

TEST(QueryServiceTest, ListPoolsAllAlsoShowsFreedPools) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  server.MustApply(lab, {testing::AddDevice(), testing::BindDriver(1), testing::UnbindDriver(1)});
  grpc::ClientContext c1;
  v1::ListPoolsRequest req;
  req.set_lab(lab);
  v1::ListPoolsResponse dump;
  ASSERT_TRUE(server.query_stub->ListPools(&c1, req, &dump).ok());
  EXPECT_EQ(dump.pools_size(), 0) << "page-pool-get does not list a freed pool";
  grpc::ClientContext c2;
  req.set_all(true);
  ASSERT_TRUE(server.query_stub->ListPools(&c2, req, &dump).ok());
  ASSERT_EQ(dump.pools_size(), 1);
  EXPECT_EQ(dump.pools(0).state(), "freed");
}

TEST(QueryServiceTest, GetPage) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  v1::ApplyResponse r =
      server.MustApply(lab, {testing::AddDevice(), testing::BindDriver(1), testing::AllocPage(1)});
  ASSERT_EQ(r.results(2).pages_size(), 1);
  const uint64_t pfn = r.results(2).pages(0).page().pfn();

  grpc::ClientContext c1;
  v1::GetPageRequest req;
  req.set_lab(lab);
  req.set_pfn(pfn);
  v1::PageInfo page;
  ASSERT_TRUE(server.query_stub->GetPage(&c1, req, &page).ok());
  EXPECT_EQ(page.pfn(), pfn);
  EXPECT_TRUE(page.is_pp());
  EXPECT_EQ(page.pool(), 1u);
  EXPECT_FALSE(page.history().empty());

  grpc::ClientContext c2;
  req.set_pfn(uint64_t{1} << 50);
  grpc::Status s = server.query_stub->GetPage(&c2, req, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("pfn: "));
}

TEST(QueryServiceTest, ListViolationsFiltersAndCountsById) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  server.MustApply(lab, UnbindWithPageInFlight());

  grpc::ClientContext c1;
  v1::ListViolationsRequest req;
  req.set_lab(lab);
  req.set_id("PP005");
  v1::ListViolationsResponse resp;
  ASSERT_TRUE(server.query_stub->ListViolations(&c1, req, &resp).ok());
  ASSERT_EQ(resp.violations_size(), 1);
  EXPECT_EQ(resp.violations(0).id(), "PP005");
  EXPECT_EQ(resp.violations(0).name(), "pending-dma-at-unbind");
  EXPECT_EQ(resp.counts().at("PP005"), 1u);

  grpc::ClientContext c2;
  req.set_id("PP001");
  ASSERT_TRUE(server.query_stub->ListViolations(&c2, req, &resp).ok());
  EXPECT_EQ(resp.violations_size(), 0);
  EXPECT_EQ(resp.counts().at("PP005"), 1u) << "counts cover every id, whatever the filter";

  grpc::ClientContext c3;
  req.set_id("");
  req.set_limit(1);
  ASSERT_TRUE(server.query_stub->ListViolations(&c3, req, &resp).ok());
  EXPECT_EQ(resp.violations_size(), 1);

  grpc::ClientContext c4;
  req.set_id("PP999");
  grpc::Status s = server.query_stub->ListViolations(&c4, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("id: \"PP999\""));
}

// Reads until an event satisfies `pred` or the stream ends.
template <class Pred>
bool ReadUntil(grpc::ClientReader<v1::Event>& reader, Pred pred, v1::Event* out) {
  while (reader.Read(out)) {
    if (pred(*out)) return true;
  }
  return false;
}

TEST(QueryServiceTest, WatchDeliversAViolationOfTheWatchedLab) {
  TestServer server;
  const uint64_t other = server.CreateLab();
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  req.set_lab(lab);
  req.add_kinds(v1::EVENT_VIOLATION);
  req.add_kinds(v1::EVENT_KERNEL_LOG);
  auto reader = server.query_stub->Watch(&ctx, req);
  reader->WaitForInitialMetadata();  // subscribed from here on

  server.MustApply(other, UnbindWithPageInFlight());  // filtered out: another lab
  server.MustApply(lab, UnbindWithPageInFlight());
  v1::Event e;
  ASSERT_TRUE(ReadUntil(*reader, [](const v1::Event& e) {
    return e.kind() == v1::EVENT_VIOLATION;
  }, &e));
  EXPECT_EQ(e.lab(), lab);
  EXPECT_THAT(e.text(), HasSubstr("PP005"));
  EXPECT_EQ(e.op_index(), 3u) << "raised by unbind_driver, the lab's 4th op";

  ctx.TryCancel();
  while (reader->Read(&e)) EXPECT_EQ(e.lab(), lab);
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(QueryServiceTest, WatchRejectsAnUnknownLabOrKind) {
  TestServer server;
  grpc::ClientContext c1;
  v1::WatchRequest req;
  req.set_lab(5);
  auto r1 = server.query_stub->Watch(&c1, req);
  v1::Event e;
  EXPECT_FALSE(r1->Read(&e));
  grpc::Status s = r1->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "lab: lab 5 does not exist");

  grpc::ClientContext c2;
  req.set_lab(0);
  req.add_kinds(v1::EVENT_FAULT);
  req.add_kinds(static_cast<v1::EventKind>(42));
  auto r2 = server.query_stub->Watch(&c2, req);
  EXPECT_FALSE(r2->Read(&e));
  s = r2->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "kinds[1]: 42 is not an EventKind");
}

TEST(QueryServiceTest, AWatcherThatFallsBehindIsToldHowManyItMissedAndCatchesUp) {
  constexpr size_t kQueue = 8;
  constexpr int kPublished = 2000;
  TestServer server(kQueue);
  grpc::ClientContext ctx;
  auto reader = server.query_stub->Watch(&ctx, v1::WatchRequest{});
  reader->WaitForInitialMetadata();

  // The client reads nothing while the burst arrives; 1 KiB events also fill the transport's
  // flow-control window quickly, so the server's queue is what overflows.
  std::vector<v1::Event> burst(kPublished);
  for (int i = 0; i < kPublished; ++i) {
    burst[i].set_seq(i + 1);
    burst[i].set_text(std::string(1024, 'x'));
  }
  server.hub.Publish(burst);

  // Every event of the burst is either received or counted in an EVENT_LAGGED, in order; the
  // stream goes on: the events published after it arrive too.
  uint64_t received = 0, dropped = 0, lags = 0, last_seq = 0;
  v1::Event e;
  bool after_published = false;
  while (reader->Read(&e)) {
    if (e.kind() == v1::EVENT_LAGGED) {
      ++lags;
      EXPECT_GT(e.dropped(), 0u);
      EXPECT_EQ(e.level(), "warn");
      EXPECT_THAT(e.text(), HasSubstr(absl::StrCat("lagged, ", e.dropped(), " events dropped")));
      dropped += e.dropped();
    } else {
      EXPECT_GT(e.seq(), last_seq) << "in order, none twice";
      last_seq = e.seq();
      if (e.seq() <= kPublished) ++received;
      if (e.seq() == kPublished + 3) break;
    }
    if (!after_published && received + dropped == kPublished) {
      after_published = true;
      std::vector<v1::Event> more(3);
      for (int i = 0; i < 3; ++i) more[i].set_seq(kPublished + 1 + i);
      server.hub.Publish(more);
    }
  }
  EXPECT_EQ(last_seq, static_cast<uint64_t>(kPublished + 3)) << "the stream went on";
  EXPECT_GE(lags, 1u);
  EXPECT_EQ(received + dropped, static_cast<uint64_t>(kPublished));
  EXPECT_LT(received, static_cast<uint64_t>(kPublished / 2));
  ctx.TryCancel();
  reader->Finish();
}

TEST(QueryServiceTest, ShutdownEndsWatchersWithUnavailable) {
  TestServer server;
  grpc::ClientContext ctx;
  auto reader = server.query_stub->Watch(&ctx, v1::WatchRequest{});
  reader->WaitForInitialMetadata();
  server.Shutdown();
  v1::Event e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A watcher of one lab ends when the lab is deleted, with the code and message every other RPC
// gives for a deleted lab (nothing more will come).
TEST(QueryServiceTest, DeletingTheWatchedLabEndsTheWatcher) {
  TestServer server;
  const uint64_t lab = server.CreateLab();
  grpc::ClientContext ctx;
  v1::WatchRequest req;
  req.set_lab(lab);
  auto reader = server.query_stub->Watch(&ctx, req);
  reader->WaitForInitialMetadata();
  grpc::ClientContext dctx;
  v1::DeleteLabRequest del;
  del.set_lab(lab);
  v1::DeleteLabResponse dresp;
  ASSERT_TRUE(server.lab_stub->DeleteLab(&dctx, del, &dresp).ok());
  v1::Event e;
  while (reader->Read(&e)) {
  }
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("lab: lab ", lab, " was deleted"));
}

}  // namespace
}  // namespace ppsim::service
