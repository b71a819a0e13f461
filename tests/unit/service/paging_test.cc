// Paging of the list RPCs and ExportTrace's stream (service.proto; server/service/paging.h,
// trace_exporter.h): no reply outgrows half of the message limit however many labs, pools,
// violation records or ops there are; the pages together are the whole list, in order, each
// item once; a bad token is INVALID_ARGUMENT naming page_token; a trace comes back byte for byte.
#include "server/service/paging.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/convert/trace_jsonl.h"
#include "tests/unit/service/policy_server.h"
#include "tests/unit/service/read_trace.h"
#include "tests/unit/service/test_server.h"
#include "server/store/mutex.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::AddDevice;
using testing::AllocPage;
using testing::BindDriver;
using testing::kAliceToken;
using testing::kBobToken;
using testing::PolicyServer;
using testing::UnbindDriver;

// A small limit so a few hundred labs or ops cross it: pages hold at most half, less slack.
constexpr int kSmallLimit = 64 * 1024;

uint64_t CreateNamed(PolicyServer& server, const std::string& token, const std::string& name) {
  v1::CreateLabRequest req;
  req.set_name(name);
  v1::LabInfo info;
  grpc::Status s = server.lab_stub->CreateLab(PolicyServer::As(token).get(), req, &info);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return info.id();
}

TEST(PagingTest, ListLabsPagesAtPageSizeAndTheTokensResumeInOrder) {
  PolicyServer server;
  std::vector<uint64_t> alices;
  for (int i = 0; i < 5; ++i) {
    alices.push_back(CreateNamed(server, kAliceToken, absl::StrCat("a", i)));
    CreateNamed(server, kBobToken, absl::StrCat("b", i));  // not alice's: never listed to her
  }
  v1::ListLabsRequest req;
  req.set_page_size(2);
  std::vector<uint64_t> seen;
  std::vector<int> sizes;
  do {
    v1::ListLabsResponse resp;
    grpc::Status s = server.lab_stub->ListLabs(PolicyServer::As(kAliceToken).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    sizes.push_back(resp.labs_size());
    for (const v1::LabInfo& l : resp.labs()) seen.push_back(l.id());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && sizes.size() < 10);
  EXPECT_EQ(seen, alices) << "every one of alice's labs once, in id order";
  EXPECT_THAT(sizes, ::testing::ElementsAre(2, 2, 1));
}

TEST(PagingTest, AListReplyNeverOutgrowsHalfTheMessageLimit) {
  PolicyServer server(QuotaLimits::Unlimited(), nullptr, nullptr, kSmallLimit);
  const std::string name(250, 'n');
  std::set<uint64_t> created;
  for (int i = 0; i < 400; ++i) created.insert(CreateNamed(server, kAliceToken, name));
  v1::ListLabsRequest req;  // page_size 0: as many as fit
  std::set<uint64_t> seen;
  int pages = 0;
  do {
    v1::ListLabsResponse resp;
    grpc::Status s = server.lab_stub->ListLabs(PolicyServer::As(kAliceToken).get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.ByteSizeLong(), static_cast<size_t>(kSmallLimit / 2));
    EXPECT_GT(resp.labs_size(), 0);
    for (const v1::LabInfo& l : resp.labs()) EXPECT_TRUE(seen.insert(l.id()).second) << l.id();
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 1000);
  EXPECT_EQ(seen, created);
  EXPECT_GT(pages, 4) << "400 labs of ~300 bytes cannot fit in one 32 KiB page";
}

TEST(PagingTest, ABadTokenIsInvalidArgumentNamingIt) {
  PolicyServer server;
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  for (const std::string token : {"x", "labs:", "labs:-1", "labs:1:2", "pools:1", "labs:1x"}) {
    v1::ListLabsRequest req;
    req.set_page_token(token);
    v1::ListLabsResponse resp;
    grpc::Status s = server.lab_stub->ListLabs(PolicyServer::As(kAliceToken).get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_THAT(s.error_message(), StartsWith(absl::StrCat("page_token: \"", token, "\"")));
  }
  v1::ListPoolsRequest pools;
  pools.set_lab(lab);
  pools.set_page_token("labs:1");  // another RPC's token
  v1::ListPoolsResponse pr;
  grpc::Status s = server.query_stub->ListPools(PolicyServer::As(kAliceToken).get(), pools, &pr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("a pools token"));
}

TEST(PagingTest, ListPoolsAndListViolationsPageAndLimitCountsOverAllPages) {
  PolicyServer server;
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  // Four devices, each unbound with a page of its newest pool in flight: a PP005 record each
  // (legacy strategy).
  for (uint32_t d = 1; d <= 4; ++d) {
    ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice(), BindDriver(d, "legacy")}).ok());
    v1::ListPoolsRequest list;
    list.set_lab(lab);
    v1::ListPoolsResponse pools;
    ASSERT_TRUE(
        server.query_stub->ListPools(PolicyServer::As(kAliceToken).get(), list, &pools).ok());
    uint32_t newest = 0;
    for (const v1::PoolInfo& p : pools.pools()) newest = std::max(newest, p.id());
    ASSERT_TRUE(server.Apply(kAliceToken, lab, {AllocPage(newest), UnbindDriver(d)}).ok());
  }

  v1::ListPoolsRequest whole;
  whole.set_lab(lab);
  whole.set_all(true);
  v1::ListPoolsResponse all_pools;
  ASSERT_TRUE(
      server.query_stub->ListPools(PolicyServer::As(kAliceToken).get(), whole, &all_pools).ok());
  ASSERT_GE(all_pools.pools_size(), 4);
  EXPECT_EQ(all_pools.next_page_token(), "");
  v1::ListPoolsRequest paged = whole;
  paged.set_page_size(1);
  std::vector<uint32_t> ids;
  do {
    v1::ListPoolsResponse r;
    ASSERT_TRUE(server.query_stub->ListPools(PolicyServer::As(kAliceToken).get(), paged, &r).ok());
    ASSERT_EQ(r.pools_size(), 1);
    ids.push_back(r.pools(0).id());
    paged.set_page_token(r.next_page_token());
  } while (!paged.page_token().empty() && ids.size() < 100);
  std::vector<uint32_t> want;
  for (const v1::PoolInfo& p : all_pools.pools()) want.push_back(p.id());
  EXPECT_EQ(ids, want) << "one pool a page, in the dump's order";

  v1::ListViolationsRequest vreq;
  vreq.set_lab(lab);
  v1::ListViolationsResponse every;
  ASSERT_TRUE(
      server.query_stub->ListViolations(PolicyServer::As(kAliceToken).get(), vreq, &every).ok());
  ASSERT_GE(every.violations_size(), 4) << "a page in flight at each unbind";
  vreq.set_page_size(2);
  vreq.set_limit(static_cast<uint32_t>(every.violations_size() - 1));
  std::vector<std::string> got;
  int pages = 0;
  do {
    v1::ListViolationsResponse r;
    ASSERT_TRUE(
        server.query_stub->ListViolations(PolicyServer::As(kAliceToken).get(), vreq, &r).ok());
    EXPECT_LE(r.violations_size(), 2);
    EXPECT_EQ((std::map<std::string, uint64_t>(r.counts().begin(), r.counts().end())),
              (std::map<std::string, uint64_t>(every.counts().begin(), every.counts().end())))
        << "the counts are in every page";
    for (const v1::Violation& v : r.violations()) got.push_back(v.ShortDebugString());
    vreq.set_page_token(r.next_page_token());
    ++pages;
  } while (!vreq.page_token().empty() && pages < 100);
  std::vector<std::string> want_v;
  for (int i = 0; i + 1 < every.violations_size(); ++i) {
    want_v.push_back(every.violations(i).ShortDebugString());
  }
  EXPECT_EQ(got, want_v) << "limit counts over all pages: all records but the last";
}

TEST(PagingTest, ExportTraceStreamsAnyLengthByteForByteInChunksUnderTheLimit) {
  PolicyServer server(QuotaLimits::Unlimited(), nullptr, nullptr, kSmallLimit);
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {AddDevice(), BindDriver(1)}).ok());
  std::vector<v1::Op> allocs(2000, AllocPage(1));
  ASSERT_TRUE(server.Apply(kAliceToken, lab, allocs).ok());

  v1::ExportTraceRequest req;
  req.set_lab(lab);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAliceToken));
  auto reader = server.lab_stub->ExportTrace(&ctx, req);
  v1::ExportTraceResponse chunk, first;
  std::string jsonl;
  int chunks = 0;
  while (reader->Read(&chunk)) {
    EXPECT_LE(chunk.ByteSizeLong(), static_cast<size_t>(kSmallLimit / 2)) << "chunk " << chunks;
    if (chunks++ == 0) {
      first = chunk;
    } else {
      EXPECT_FALSE(chunk.has_config()) << "config, digest and ops are in the first only";
      EXPECT_EQ(chunk.ops(), 0u);
    }
    ASSERT_TRUE(chunk.jsonl().empty() || chunk.jsonl().back() == '\n') << "whole lines";
    jsonl += chunk.jsonl();
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(chunks, 4);
  EXPECT_EQ(first.ops(), 2002u);

  absl::StatusOr<std::shared_ptr<LabEntry>> e = server.labs.Get(lab);
  ASSERT_TRUE(e.ok());
  ppsim::MutexLock lock(&(*e)->mu);
  EXPECT_EQ(jsonl, convert::TraceToJsonl((*e)->lab->trace())) << "byte for byte";
  EXPECT_EQ(first.digest(), (*e)->lab->digest());
}

TEST(PagingTest, ExportTraceOfAnUnknownLabEndsWithNotFoundAndNoMessage) {
  PolicyServer server;
  v1::ExportTraceRequest req;
  req.set_lab(99);
  v1::ExportTraceResponse out;
  int chunks = -1;
  grpc::Status s = ::ppsim::testing::ReadTrace(server.lab_stub.get(),
                                               PolicyServer::As(kAliceToken).get(), req, &out,
                                               &chunks);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("lab 99"));
  EXPECT_EQ(chunks, 0);
}

}  // namespace
}  // namespace ppsim::service
