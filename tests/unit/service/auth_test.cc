// server/service/auth: the token file, credentials to identities, and lab ownership on every
// service (an in-process server with bearer tokens, policy_server.h). Each refusal is checked
// for its code and for a message that names the reason, and a refused call must leave the
// lab as it was (same digest).
#include "server/service/auth.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/service/policy_server.h"
#include "tests/unit/service/test_server.h"
#include "tests/unit/service/read_trace.h"

namespace ppsim::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::kAliceToken;
using testing::kBobToken;
using testing::kRootToken;
using testing::PolicyServer;

TEST(TokenFileTest, ParsesLinesCommentsAndBlanks) {
  absl::StatusOr<std::vector<TokenEntry>> t = ParseTokenFile(
      "# tokens\n\n  0123456789abcdef0123 alice  # trailing comment\n"
      "ZmVkY2JhOTg3NjU0MzIxMA== ci-soak@lab\r\n",
      "tokens.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].token, "0123456789abcdef0123");
  EXPECT_EQ((*t)[0].identity, "alice");
  EXPECT_EQ((*t)[1].token, "ZmVkY2JhOTg3NjU0MzIxMA==");
  EXPECT_EQ((*t)[1].identity, "ci-soak@lab");
}

TEST(TokenFileTest, ErrorsNameTheLineAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"0123456789abcdef0123\n", "tokens.txt: line 1: expected `TOKEN IDENTITY`, found 1 fields"},
      {"# c\nshort alice\n", "tokens.txt: line 2: token (5 characters) must be at least 16"},
      {"0123456789abcdef0123 al!ce\n", "line 1: identity \"al!ce\" must be 1..64 characters"},
      {"0123456789abcdef0123 alice\n0123456789abcdef0123 bob\n",
       "line 2: token already given on line 1"},
      {"0123456789abcdef0123 alice\n0123456789abcdef9999 alice\n",
       "line 2: identity \"alice\" already given on line 1"},
      {"# nothing\n", "tokens.txt: no `TOKEN IDENTITY` lines"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<TokenEntry>> t = ParseTokenFile(c.text, "tokens.txt");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.want));
    EXPECT_THAT(std::string(t.status().message()), Not(HasSubstr("0123456789abcdef")));
  }
  EXPECT_THAT(std::string(LoadTokenFile("/nonexistent/tokens").status().message()),
              HasSubstr("auth-tokens: cannot read \"/nonexistent/tokens\""));
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcde"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcabc")) << "a prefix repeated is not equal";
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(AuthenticatorTest, OpenModeIsAnonymousAndSeesEverything) {
  Authenticator open;
  EXPECT_FALSE(open.closed());
  absl::StatusOr<Identity> who = open.Authenticate(std::nullopt, std::nullopt);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "");
  EXPECT_TRUE(who->admin);
  EXPECT_EQ(who->Display(), "anonymous");
}

TEST(AuthenticatorTest, BearerTokens) {
  Authenticator auth = testing::TestAuthenticator();
  ASSERT_TRUE(auth.closed());
  absl::StatusOr<Identity> alice = auth.Authenticate(absl::StrCat("Bearer ", kAliceToken), {});
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->name, "alice");
  EXPECT_FALSE(alice->admin);
  absl::StatusOr<Identity> root = auth.Authenticate(absl::StrCat("bearer  ", kRootToken), {});
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_TRUE(root->admin);

  absl::StatusOr<Identity> none = auth.Authenticate(std::nullopt, std::nullopt);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("auth: no credentials; ppsimd requires `authorization: Bearer TOKEN`"));
  absl::StatusOr<Identity> wrong = auth.Authenticate("Bearer alice-token-0123456789abcdeX", {});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(wrong.status().message()),
              HasSubstr("bearer token (28 characters) is not in --auth-tokens"));
  absl::StatusOr<Identity> basic = auth.Authenticate("Basic dXNlcjpwYXNz", {});
  EXPECT_EQ(basic.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(basic.status().message()), HasSubstr("is not \"Bearer TOKEN\""));
  // A certificate does not help when certificates are not identities here.
  EXPECT_EQ(auth.Authenticate(std::nullopt, "alice").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticatorTest, ClientCertificates) {
  Authenticator::Config c;
  c.client_certs = true;
  c.admins = {"ops"};
  Authenticator auth(std::move(c));
  absl::StatusOr<Identity> carol = auth.Authenticate(std::nullopt, "carol");
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->name, "carol");
  EXPECT_FALSE(carol->admin);
  EXPECT_TRUE(auth.Authenticate(std::nullopt, "ops")->admin);
  absl::StatusOr<Identity> none = auth.Authenticate(std::nullopt, std::nullopt);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("a client certificate signed by --tls-client-ca"));
}

// Every service refuses calls without a valid token, naming why, before touching anything.
TEST(AuthServiceTest, MissingOrWrongTokenIsUnauthenticatedEverywhere) {
  PolicyServer server;
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  const uint64_t digest = server.Digest(lab);
  for (const std::string& token : {std::string(""), std::string("not-a-known-token-at-all")}) {
    SCOPED_TRACE(token.empty() ? "no token" : "wrong token");
    const std::string want = token.empty() ? "auth: no credentials" : "is not in --auth-tokens";
    uint64_t id = 0;
    grpc::Status s = server.CreateLab(token, &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(s.error_message(), HasSubstr(want));
    s = server.Apply(token, lab, {testing::AddDevice()});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(s.error_message(), HasSubstr(want));
    s = server.GetLab(token, lab);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::ListLabsResponse list;
    s = server.lab_stub->ListLabs(PolicyServer::As(token).get(), {}, &list);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::ListPoolsRequest pools_req;
    pools_req.set_lab(lab);
    v1::ListPoolsResponse pools;
    s = server.query_stub->ListPools(PolicyServer::As(token).get(), pools_req, &pools);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::ReplayTraceRequest replay;
    v1::ReplayTraceResponse replayed;
    s = server.lab_stub->ReplayTrace(PolicyServer::As(token).get(), replay, &replayed);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::WatchRequest watch;
    auto ctx = PolicyServer::As(token);
    auto reader = server.query_stub->Watch(ctx.get(), watch);
    v1::Event ev;
    EXPECT_FALSE(reader->Read(&ev));
    s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(s.error_message(), HasSubstr(want));
    auto sctx = PolicyServer::As(token);
    auto stream = server.ops_stub->Stream(sctx.get());
    v1::ApplyRequest batch;
    batch.set_lab(lab);
    *batch.add_ops() = testing::AddDevice();
    stream->Write(batch);
    stream->WritesDone();
    v1::ApplyResponse resp;
    EXPECT_FALSE(stream->Read(&resp));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(server.Digest(lab), digest);
}

// A lab belongs to its creator: bob gets PERMISSION_DENIED on every call that names alice's lab,
// and the lab is unchanged; root (an admin) may use it.
TEST(AuthServiceTest, OtherIdentitysLabIsPermissionDenied) {
  PolicyServer server;
  const uint64_t lab = server.MustCreateLab(kAliceToken);
  ASSERT_TRUE(server.Apply(kAliceToken, lab, {testing::AddDevice(), testing::BindDriver(1)}).ok());
  const uint64_t digest = server.Digest(lab);
  const std::string want =
      absl::StrCat("lab: lab ", lab, " belongs to another identity; bob may use only the labs");
  auto denied = [&](const grpc::Status& s, const char* what) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_THAT(s.error_message(), HasSubstr(want)) << what;
  };

  denied(server.GetLab(kBobToken, lab), "GetLab");
  v1::ApplyResponse applied;
  denied(server.Apply(kBobToken, lab, {testing::AddDevice()}, &applied), "Apply");
  EXPECT_EQ(applied.results_size(), 0);
  v1::DeleteLabRequest del;
  del.set_lab(lab);
  v1::DeleteLabResponse deleted;
  denied(server.lab_stub->DeleteLab(PolicyServer::As(kBobToken).get(), del, &deleted), "DeleteLab");
  v1::ExportTraceRequest exp;
  exp.set_lab(lab);
  v1::ExportTraceResponse trace;
  denied(::ppsim::testing::ReadTrace(server.lab_stub.get(), PolicyServer::As(kBobToken).get(), exp, &trace),
         "ExportTrace");
  EXPECT_TRUE(trace.jsonl().empty());
  v1::SetFaultRequest fault;
  fault.set_lab(lab);
  fault.mutable_fault()->set_site("fail_dma_map");
  fault.mutable_fault()->set_probability(1);
  v1::SetFaultResponse set;
  denied(server.fault_stub->SetFault(PolicyServer::As(kBobToken).get(), fault, &set), "SetFault");
  v1::ClearFaultsRequest clear;
  clear.set_lab(lab);
  v1::ClearFaultsResponse cleared;
  denied(server.fault_stub->ClearFaults(PolicyServer::As(kBobToken).get(), clear, &cleared),
         "ClearFaults");
  v1::GetPoolRequest pool;
  pool.set_lab(lab);
  pool.set_pool(1);
  v1::PoolInfo pool_info;
  denied(server.query_stub->GetPool(PolicyServer::As(kBobToken).get(), pool, &pool_info),
         "GetPool");
  v1::ListViolationsRequest vio;
  vio.set_lab(lab);
  v1::ListViolationsResponse vios;
  denied(server.query_stub->ListViolations(PolicyServer::As(kBobToken).get(), vio, &vios),
         "ListViolations");
  v1::WatchRequest watch;
  watch.set_lab(lab);
  auto ctx = PolicyServer::As(kBobToken);
  auto reader = server.query_stub->Watch(ctx.get(), watch);
  v1::Event ev;
  EXPECT_FALSE(reader->Read(&ev));
  denied(reader->Finish(), "Watch");
  EXPECT_EQ(server.quota.watches_of("bob"), 0u) << "a refused Watch holds no slot";

  EXPECT_EQ(server.Digest(lab), digest);
  v1::LabInfo info;
  ASSERT_TRUE(server.GetLab(kAliceToken, lab, &info).ok());
  EXPECT_EQ(info.owner(), "alice");
  ASSERT_TRUE(server.lab_stub->DeleteLab(PolicyServer::As(kRootToken).get(), del, &deleted).ok())
      << "an admin may delete anyone's lab";
  EXPECT_EQ(server.quota.labs_of("alice"), 0u) << "deleting gives the lab back to its owner";
}

TEST(AuthServiceTest, ListLabsShowsOwnLabsAndAllToAnAdmin) {
  PolicyServer server;
  const uint64_t a = server.MustCreateLab(kAliceToken);
  const uint64_t b = server.MustCreateLab(kBobToken);
  auto ids = [&](const char* token) {
    v1::ListLabsResponse r;
    grpc::Status s = server.lab_stub->ListLabs(PolicyServer::As(token).get(), {}, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<uint64_t> out;
    for (const v1::LabInfo& l : r.labs()) out.push_back(l.id());
    return out;
  };
  EXPECT_EQ(ids(kAliceToken), std::vector<uint64_t>{a});
  EXPECT_EQ(ids(kBobToken), std::vector<uint64_t>{b});
  EXPECT_EQ(ids(kRootToken), (std::vector<uint64_t>{a, b}));
}

// Watch of every lab (lab 0) by a non-admin passes on only its own labs' events.
TEST(AuthServiceTest, WatchOfEveryLabIsOwnLabsOnly) {
  PolicyServer server;
  const uint64_t mine = server.MustCreateLab(kBobToken);
  const uint64_t theirs = server.MustCreateLab(kAliceToken);
  auto ctx = PolicyServer::As(kBobToken);
  auto reader = server.query_stub->Watch(ctx.get(), v1::WatchRequest());
  reader->WaitForInitialMetadata();
  EXPECT_EQ(server.quota.watches_of("bob"), 1u);
  // Pool-add events from alice's lab first, then bob's: the first event bob sees is his.
  ASSERT_TRUE(
      server.Apply(kAliceToken, theirs, {testing::AddDevice(), testing::BindDriver(1)}).ok());
  ASSERT_TRUE(server.Apply(kBobToken, mine, {testing::AddDevice(), testing::BindDriver(1)}).ok());
  v1::Event ev;
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.lab(), mine);
  ctx->TryCancel();
  while (reader->Read(&ev)) EXPECT_EQ(ev.lab(), mine);
  reader->Finish();
}

}  // namespace
}  // namespace ppsim::service
