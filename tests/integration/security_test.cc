// A real ppsimd with TLS, mutual TLS and bearer tokens, and one with tight quotas, driven
// through libppsim_client and ppctl (server/service/auth.h, quota.h). The certificates are
// made with openssl for each run: a CA, a server certificate for 127.0.0.1/localhost, client
// certificates for alice and bob, and a second CA whose client certificate must be refused.
// Every refusal is checked for its code and message, and a refused call for leaving the lab
// as it was (same digest).
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/lib/client.h"
#include "client/lib/op_line.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "ppsim/v1/service.grpc.pb.h"
#include "tests/integration/daemon_process.h"

namespace ppsim {
namespace {

using client::Client;
using ::testing::HasSubstr;
using testing::DaemonProcess;
using testing::RunCommand;

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);
constexpr char kOpenssl[] = "/usr/bin/openssl";
constexpr char kAliceToken[] = "3f9a0c1d2e4b5a6978800112233445566";
constexpr char kBobToken[] = "77be01fedcba98765432100112233445";
constexpr char kRootToken[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

std::vector<v1::Op> Ops(absl::string_view text) {
  absl::StatusOr<std::vector<v1::Op>> ops = client::ParseOpLines(text);
  EXPECT_TRUE(ops.ok()) << ops.status();
  return ops.ok() ? *ops : std::vector<v1::Op>{};
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

// The PKI of one test run, made once for the suite.
struct Pki {
  std::string dir, ca, server_cert, server_key, tokens;
  std::string cert(const std::string& who) const { return dir + "/" + who + ".pem"; }
  std::string key(const std::string& who) const { return dir + "/" + who + ".key"; }
};

bool Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), kOpenssl);
  testing::CommandResult r = RunCommand(args);
  EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << r.err;
  return r.exit_code == 0;
}

// An EC key and a certificate for CN=`cn` signed by `ca` (ca.pem/ca.key in dir).
bool Issue(const std::string& dir, const std::string& ca, const std::string& name,
           const std::string& cn, const std::string& extensions) {
  const std::string ext = dir + "/" + name + ".ext";
  WriteFile(ext, extensions + "\n");
  return Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr",
                  "-subj", "/CN=" + cn}) &&
         Openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/" + ca + ".pem",
                  "-CAkey", dir + "/" + ca + ".key", "-CAcreateserial", "-out",
                  dir + "/" + name + ".pem", "-days", "1", "-extfile", ext});
}

bool MakeCa(const std::string& dir, const std::string& name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", dir + "/" + name + ".key", "-out",
                  dir + "/" + name + ".pem", "-days", "1", "-subj", "/CN=" + name});
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new Pki();
    Pki& p = *pki_;
    p.dir = dir_->path();
    ASSERT_TRUE(MakeCa(p.dir, "ca"));
    ASSERT_TRUE(MakeCa(p.dir, "rogue-ca"));
    ASSERT_TRUE(Issue(p.dir, "ca", "server", "localhost",
                      "subjectAltName=IP:127.0.0.1,DNS:localhost"));
    ASSERT_TRUE(Issue(p.dir, "ca", "alice", "alice", "extendedKeyUsage=clientAuth"));
    ASSERT_TRUE(Issue(p.dir, "ca", "bob", "bob", "extendedKeyUsage=clientAuth"));
    ASSERT_TRUE(Issue(p.dir, "rogue-ca", "mallory", "alice", "extendedKeyUsage=clientAuth"));
    p.ca = p.dir + "/ca.pem";
    p.server_cert = p.cert("server");
    p.server_key = p.key("server");
    p.tokens = p.dir + "/tokens";
    WriteFile(p.tokens, absl::StrCat("# test tokens\n", kAliceToken, " alice\n", kBobToken,
                                     " bob\n", kRootToken, " root\n"));
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  // ppsimd with TLS, client certificates and tokens; root is an admin.
  static std::unique_ptr<DaemonProcess> StartSecured(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls-cert",      pki_->server_cert, "--tls-key",
                                     pki_->server_key,  "--tls-client-ca", pki_->ca,
                                     "--auth-tokens",   pki_->tokens,      "--admin-identities",
                                     "root"};
    args.insert(args.end(), extra.begin(), extra.end());
    return DaemonProcess::Start(absl::Seconds(15), args);
  }

  static Client::Options Tls(const std::string& token = "", const std::string& cert = "") {
    Client::Options o;
    o.tls_ca = pki_->ca;
    o.token = token;
    if (!cert.empty()) {
      o.tls_cert = pki_->cert(cert);
      o.tls_key = pki_->key(cert);
    }
    return o;
  }

  static absl::StatusOr<std::unique_ptr<Client>> Connect(const DaemonProcess& d,
                                                          const Client::Options& o) {
    return Client::Connect(d.grpc_target(), kConnectTimeout, o);
  }
  static std::unique_ptr<Client> MustConnect(const DaemonProcess& d, const Client::Options& o) {
    absl::StatusOr<std::unique_ptr<Client>> c = Connect(d, o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  static testing::TempDir* dir_;
  static Pki* pki_;
};

testing::TempDir* SecurityTest::dir_ = nullptr;
Pki* SecurityTest::pki_ = nullptr;

void ExpectCode(const absl::Status& s, absl::StatusCode code, const std::string& want) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(want));
}

TEST_F(SecurityTest, TlsWithTokenWorksAndPlaintextClientIsRefused) {
  std::unique_ptr<DaemonProcess> d = StartSecured();
  ASSERT_NE(d, nullptr);
  std::unique_ptr<Client> alice = MustConnect(*d, Tls(kAliceToken));
  ASSERT_NE(alice, nullptr);
  absl::StatusOr<uint64_t> lab = alice->CreateLab("tls", v1::LabConfig());
  ASSERT_TRUE(lab.ok()) << lab.status();
  absl::StatusOr<v1::ApplyResponse> r = alice->Apply(*lab, Ops("add_device\n"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->results_size(), 1);
  absl::StatusOr<v1::LabInfo> info = alice->GetLab(*lab);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->owner(), "alice");

  // A plaintext client cannot even connect: the server speaks TLS.
  absl::StatusOr<std::unique_ptr<Client>> plain = Connect(*d, Client::Options{});
  ExpectCode(plain.status(), absl::StatusCode::kUnavailable, "and without TLS?");
  // Nor can a TLS client that does not trust the server's CA.
  Client::Options rogue_trust = Tls(kAliceToken);
  rogue_trust.tls_ca = pki_->dir + "/rogue-ca.pem";
  ExpectCode(Connect(*d, rogue_trust).status(), absl::StatusCode::kUnavailable,
             "TLS handshake failed");
  // Health needs no credentials (Kubernetes probes carry none).
  std::unique_ptr<Client> anon = MustConnect(*d, Tls());
  ASSERT_NE(anon, nullptr);
  absl::StatusOr<client::ServingStatus> health = anon->Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, client::ServingStatus::kServing);
}

TEST_F(SecurityTest, TokensMissingOrWrongAreUnauthenticated) {
  std::unique_ptr<DaemonProcess> d = StartSecured();
  ASSERT_NE(d, nullptr);
  std::unique_ptr<Client> anon = MustConnect(*d, Tls());
  ASSERT_NE(anon, nullptr);
  ExpectCode(anon->CreateLab("x", v1::LabConfig()).status(), absl::StatusCode::kUnauthenticated,
             "auth: no credentials; ppsimd requires `authorization: Bearer TOKEN` metadata or a "
             "client certificate signed by --tls-client-ca");
  ExpectCode(anon->ListLabs().status(), absl::StatusCode::kUnauthenticated, "no credentials");
  std::unique_ptr<Client> wrong = MustConnect(*d, Tls("0000000000000000000000000000000000"));
  ASSERT_NE(wrong, nullptr);
  ExpectCode(wrong->ListLabs().status(), absl::StatusCode::kUnauthenticated,
             "auth: bearer token (34 characters) is not in --auth-tokens");
  EXPECT_THAT(d->log(), HasSubstr("refused: UNAUTHENTICATED")) << "refusals are logged";
}

TEST_F(SecurityTest, ClientCertificatesAreIdentities) {
  std::unique_ptr<DaemonProcess> d = StartSecured();
  ASSERT_NE(d, nullptr);
  // CN=alice by certificate is the identity "alice" of the token file.
  std::unique_ptr<Client> by_token = MustConnect(*d, Tls(kAliceToken));
  std::unique_ptr<Client> by_cert = MustConnect(*d, Tls("", "alice"));
  ASSERT_NE(by_token, nullptr);
  ASSERT_NE(by_cert, nullptr);
  absl::StatusOr<uint64_t> lab = by_cert->CreateLab("mtls", v1::LabConfig());
  ASSERT_TRUE(lab.ok()) << lab.status();
  absl::StatusOr<v1::LabInfo> info = by_token->GetLab(*lab);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->owner(), "alice");
  std::unique_ptr<Client> bob = MustConnect(*d, Tls("", "bob"));
  ASSERT_NE(bob, nullptr);
  ExpectCode(bob->GetLab(*lab).status(), absl::StatusCode::kPermissionDenied,
             "bob may use only the labs it created");
  // A certificate from another CA fails the handshake, even with CN=alice. Under TLS 1.3 the
  // client may finish its side before the server refuses, so the first call can be the one
  // that fails.
  absl::StatusOr<std::unique_ptr<Client>> mallory = Connect(*d, Tls("", "mallory"));
  const absl::Status s = mallory.ok() ? (*mallory)->ListLabs().status() : mallory.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(SecurityTest, OtherIdentitysLabIsPermissionDeniedAndUnchanged) {
  std::unique_ptr<DaemonProcess> d = StartSecured();
  ASSERT_NE(d, nullptr);
  std::unique_ptr<Client> alice = MustConnect(*d, Tls(kAliceToken));
  std::unique_ptr<Client> bob = MustConnect(*d, Tls(kBobToken));
  std::unique_ptr<Client> root = MustConnect(*d, Tls(kRootToken));
  ASSERT_TRUE(alice && bob && root);
  absl::StatusOr<uint64_t> lab = alice->CreateLab("alices", v1::LabConfig());
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(alice->Apply(*lab, Ops("add_device\nbind_driver device=1 flags=1\n")).ok());
  const uint64_t digest = alice->GetLab(*lab)->digest();
  const std::string want = absl::StrCat("lab: lab ", *lab, " belongs to another identity; bob");
  const absl::StatusCode denied = absl::StatusCode::kPermissionDenied;

  ExpectCode(bob->GetLab(*lab).status(), denied, want);
  ExpectCode(bob->Apply(*lab, Ops("add_device\n")).status(), denied, want);
  ExpectCode(bob->DeleteLab(*lab), denied, want);
  ExpectCode(bob->ExportTrace(*lab).status(), denied, want);
  v1::SetFault fault;
  fault.set_site("fail_dma_map");
  fault.set_probability(1);
  ExpectCode(bob->SetFault(*lab, fault), denied, want);
  ExpectCode(bob->ListPools(*lab).status(), denied, want);
  absl::StatusOr<std::unique_ptr<client::WatchStream>> w =
      bob->Watch(*lab, {}, [](const v1::Event&) {});
  ASSERT_TRUE(w.ok()) << w.status();
  ExpectCode((*w)->Wait(), denied, want);
  absl::StatusOr<std::vector<v1::LabInfo>> bobs = bob->ListLabs();
  ASSERT_TRUE(bobs.ok());
  EXPECT_TRUE(bobs->empty()) << "bob sees only his own labs";
  absl::StatusOr<std::vector<v1::LabInfo>> all = root->ListLabs();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u) << "an admin sees every lab";

  EXPECT_EQ(alice->GetLab(*lab)->digest(), digest);
  EXPECT_TRUE(alice->ExportTrace(*lab).ok());
  EXPECT_TRUE(alice->DeleteLab(*lab).ok());
}

TEST_F(SecurityTest, QuotasRefuseWithTheLimitNamedAndChangeNothing) {
  std::unique_ptr<DaemonProcess> d = StartSecured(
      {"--max-labs", "1", "--max-lab-ram", "1GiB", "--max-batch-ops", "2", "--max-watch-streams",
       "1", "--max-message-bytes", "64KiB"});
  ASSERT_NE(d, nullptr);
  std::unique_ptr<Client> alice = MustConnect(*d, Tls(kAliceToken));
  ASSERT_NE(alice, nullptr);
  const absl::StatusCode exhausted = absl::StatusCode::kResourceExhausted;
  v1::LabConfig big;
  big.set_ram_bytes(uint64_t{2} << 30);
  ExpectCode(alice->CreateLab("big", big).status(), exhausted,
             "quota: config.ram_bytes per lab is at most 1073741824 (--max-lab-ram); asked for "
             "2147483648");
  v1::LabConfig small;
  small.set_ram_bytes(uint64_t{1} << 30);
  absl::StatusOr<uint64_t> lab = alice->CreateLab("one", small);
  ASSERT_TRUE(lab.ok()) << lab.status();
  ExpectCode(alice->CreateLab("two", small).status(), exhausted,
             "quota: labs per identity is 1 (--max-labs); alice has 1");

  ASSERT_TRUE(alice->Apply(*lab, Ops("add_device\nbind_driver device=1 flags=1\n")).ok());
  const uint64_t digest = alice->GetLab(*lab)->digest();
  ExpectCode(alice->Apply(*lab, Ops("add_device\nadd_device\nadd_device\n")).status(), exhausted,
             "quota: ops per batch is 2 (--max-batch-ops); the batch has 3 ops");
  EXPECT_EQ(alice->GetLab(*lab)->digest(), digest);

  // gRPC's own receive limit names the limit in bytes.
  const std::string huge(80 << 10, 'x');
  ExpectCode(alice->ReplayTrace(small, huge, 0).status(), exhausted, "65536");

  // The first stream holds alice's one slot from the moment the daemon sends its initial
  // metadata: QueryService admits the stream (Quota::AdmitWatch) before its EventWatcher sends
  // them (event_watcher.cc). Client::Watch does not expose that moment, so the first stream is
  // opened on a stub of its own and waited for.
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(pki_->ca);
  std::unique_ptr<v1::QueryService::Stub> stub = v1::QueryService::NewStub(
      grpc::CreateChannel(d->grpc_target(), grpc::SslCredentials(tls)));
  grpc::ClientContext first_ctx;
  first_ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAliceToken));
  v1::WatchRequest first_req;
  first_req.set_lab(*lab);
  std::unique_ptr<grpc::ClientReader<v1::Event>> first = stub->Watch(&first_ctx, first_req);
  first->WaitForInitialMetadata();
  absl::StatusOr<std::unique_ptr<client::WatchStream>> second =
      alice->Watch(*lab, {}, [](const v1::Event&) {});
  ASSERT_TRUE(second.ok());
  ExpectCode((*second)->Wait(), exhausted,
             "quota: watch streams per identity is 1 (--max-watch-streams); alice has 1 open");
  first_ctx.TryCancel();
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::CANCELLED)
      << "the first stream was admitted and stayed open until cancelled";
  EXPECT_EQ(alice->GetLab(*lab)->digest(), digest);
  EXPECT_TRUE(d->running()) << "the daemon stays up";
}

TEST_F(SecurityTest, MemoryCapRefusesNewLabs) {
  std::unique_ptr<DaemonProcess> d = StartSecured({"--memory-cap", "1MiB"});
  ASSERT_NE(d, nullptr);
  std::unique_ptr<Client> alice = MustConnect(*d, Tls(kAliceToken));
  ASSERT_NE(alice, nullptr);
  ExpectCode(alice->CreateLab("x", v1::LabConfig()).status(),
             absl::StatusCode::kResourceExhausted,
             "at or over --memory-cap 1048576 bytes; new labs are refused");
  EXPECT_TRUE(d->running());
}

TEST_F(SecurityTest, PpctlWithTokenAndTlsCa) {
  std::unique_ptr<DaemonProcess> d = StartSecured();
  ASSERT_NE(d, nullptr);
  testing::CommandResult created =
      RunCommand({PPCTL_PATH, "create-lab", "--target", d->grpc_target(), "--tls-ca", pki_->ca,
                  "--token", kAliceToken, "--name", "from-ppctl"});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  testing::CommandResult listed = RunCommand(
      {PPCTL_PATH, "labs", "--target", d->grpc_target(), "--tls-ca", pki_->ca, "--tls-cert",
       pki_->cert("alice"), "--tls-key", pki_->key("alice")});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("from-ppctl"));
  testing::CommandResult no_token =
      RunCommand({PPCTL_PATH, "labs", "--target", d->grpc_target(), "--tls-ca", pki_->ca});
  EXPECT_EQ(no_token.exit_code, 64 + 16) << no_token.err;  // UNAUTHENTICATED
  EXPECT_THAT(no_token.err, HasSubstr("UNAUTHENTICATED: auth: no credentials"));
  testing::CommandResult plain = RunCommand({PPCTL_PATH, "labs", "--target", d->grpc_target()});
  EXPECT_EQ(plain.exit_code, 64 + 14) << plain.err;  // UNAVAILABLE
  testing::CommandResult health =
      RunCommand({PPCTL_PATH, "health", "--target", d->grpc_target(), "--tls-ca", pki_->ca});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  // The commands that run embedded by default take the same flags for their --target.
  testing::CommandResult chaos =
      RunCommand({PPCTL_PATH, "chaos", "--seed", "3", "--ops", "300", "--target",
                  d->grpc_target(), "--tls-ca", pki_->ca, "--token", kAliceToken});
  EXPECT_EQ(chaos.exit_code, 0) << chaos.err;
  testing::CommandResult chaos_no_token =
      RunCommand({PPCTL_PATH, "chaos", "--seed", "3", "--ops", "300", "--target",
                  d->grpc_target(), "--tls-ca", pki_->ca});
  EXPECT_NE(chaos_no_token.exit_code, 0);
  EXPECT_THAT(chaos_no_token.out + chaos_no_token.err, HasSubstr("auth: no credentials"));
  testing::CommandResult demo = RunCommand({PPCTL_PATH, "demo", "--target", d->grpc_target(),
                                            "--tls-ca", pki_->ca, "--tls-cert",
                                            pki_->cert("alice"), "--tls-key", pki_->key("alice")});
  EXPECT_EQ(demo.exit_code, 0) << demo.err;
}

TEST_F(SecurityTest, PlaintextOnlyOnLoopbackUnlessAskedFor) {
  testing::TempDir dir;
  testing::CommandResult refused =
      RunCommand({PPSIMD_PATH, "--listen", "0.0.0.0:0", "--metrics-listen", "127.0.0.1:0",
                  "--data-dir", dir.path() + "/data"});
  EXPECT_EQ(refused.exit_code, 64);
  EXPECT_THAT(refused.out + refused.err,
              HasSubstr("--listen: \"0.0.0.0:0\" is not a loopback address and --tls-cert is not "
                        "given"));
  // --insecure-plaintext allows it: the daemon gets ready and says how it serves.
  const std::string ready = dir.path() + "/ready.json", log = dir.path() + "/log";
  const pid_t pid = testing::Spawn({PPSIMD_PATH, "--listen", "0.0.0.0:0", "--metrics-listen",
                                    "127.0.0.1:0", "--data-dir", dir.path() + "/data",
                                    "--ready-file", ready, "--insecure-plaintext"},
                                   log, log + ".err");
  ASSERT_GT(pid, 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (!std::filesystem::exists(ready) && absl::Now() < deadline &&
         !testing::WaitForExit(pid, absl::Milliseconds(20))) {
  }
  EXPECT_TRUE(std::filesystem::exists(ready)) << testing::ReadWholeFile(log);
  EXPECT_THAT(testing::ReadWholeFile(log), HasSubstr("security: plaintext, callers anonymous"));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace ppsim
