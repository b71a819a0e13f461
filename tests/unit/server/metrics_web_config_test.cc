// server/metrics_web_config.h: the exporter-toolkit web-config file for /metrics (TLS and
// basic auth), and the rule that a non-loopback --metrics-listen needs TLS or
// --metrics-insecure (issue 21 item 6).
#include "server/metrics_web_config.h"

#include <crypt.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace ppsim::daemon {
namespace {

class MetricsWebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ppsim-webcfg-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& text) {
    const std::string path = (dir_ / "web.yml").string();
    std::ofstream(path) << text;
    return path;
  }
  // A real bcrypt hash of `password` (cost 4: the test stays fast; the check reads the cost
  // from the hash).
  static std::string Bcrypt(const std::string& password) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)), nullptr);
    crypt_data data{};
    const char* h = crypt_r(password.c_str(), salt, &data);
    EXPECT_NE(h, nullptr);
    return h == nullptr ? "" : h;
  }
  std::filesystem::path dir_;
};

TEST_F(MetricsWebConfigTest, TlsPathsAreRelativeToTheFileAndUsersCheckTheirPassword) {
  const std::string hash = Bcrypt("s3cret");
  ASSERT_EQ(hash.size(), 60u);
  absl::StatusOr<MetricsWebConfig> c = LoadMetricsWebConfig(
      Write("tls_server_config:\n  cert_file: server.pem\n  key_file: /abs/server.key\n"
            "basic_auth_users:\n  prometheus: " + hash + "\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->tls());
  EXPECT_EQ(c->cert_file, (dir_ / "server.pem").string());
  EXPECT_EQ(c->key_file, "/abs/server.key");
  EXPECT_TRUE(CheckBasicAuth(*c, "prometheus", "s3cret"));
  EXPECT_FALSE(CheckBasicAuth(*c, "prometheus", "s3cret "));
  EXPECT_FALSE(CheckBasicAuth(*c, "prometheus", ""));
  EXPECT_FALSE(CheckBasicAuth(*c, "grafana", "s3cret"));
}

TEST_F(MetricsWebConfigTest, AnEmptyFileMeansPlaintextWithoutAuth) {
  absl::StatusOr<MetricsWebConfig> c = LoadMetricsWebConfig(Write(""));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->tls());
  EXPECT_TRUE(c->users.empty());
}

TEST_F(MetricsWebConfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  const std::string path = Write("");
  const auto error = [&](const std::string& text) {
    std::ofstream(path) << text;
    absl::StatusOr<MetricsWebConfig> c = LoadMetricsWebConfig(path);
    EXPECT_FALSE(c.ok());
    return std::string(c.status().message());
  };
  EXPECT_EQ(error("tls_server_config:\n  cert_file: a.pem\n"),
            "--metrics-web-config " + path + ":1: tls_server_config.key_file: missing");
  EXPECT_EQ(error("basic_auth_users:\n  alice: plain-password\n"),
            "--metrics-web-config " + path +
                ":2: basic_auth_users.alice: not a bcrypt hash ($2a$, $2b$ or $2y$, 60 "
                "characters)");
  // A config that asks for client certificates must not serve without them.
  EXPECT_EQ(error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: "
                  "RequireAndVerifyClientCert\n"),
            "--metrics-web-config " + path +
                ":4: tls_server_config.client_auth_type: not supported by ppsimd (cert_file and "
                "key_file are)");
  EXPECT_EQ(error("http_server_config:\n  http2: false\n"),
            "--metrics-web-config " + path +
                ":1: http_server_config: not supported by ppsimd (tls_server_config and "
                "basic_auth_users are)");
  EXPECT_EQ(LoadMetricsWebConfig((dir_ / "missing.yml").string()).status().message(),
            "--metrics-web-config: cannot read \"" + (dir_ / "missing.yml").string() + "\"");
}

// The gRPC rule (CheckTransportSecurity) for /metrics: plaintext only on loopback.
TEST(MetricsSecurityTest, PlaintextOnlyOnLoopbackUnlessAskedFor) {
  const MetricsWebConfig plain;
  MetricsWebConfig tls;
  tls.cert_file = "c";
  tls.key_file = "k";
  for (const char* loopback : {"127.0.0.1:9464", "localhost:0", "[::1]:9464", "127.3.2.1:1"}) {
    EXPECT_EQ(CheckMetricsSecurity(loopback, plain, false), "") << loopback;
  }
  EXPECT_EQ(CheckMetricsSecurity("0.0.0.0:9464", plain, false),
            "--metrics-listen: \"0.0.0.0:9464\" is not a loopback address and "
            "--metrics-web-config sets no tls_server_config; /metrics names every tenant's labs, "
            "so serve it over TLS (--metrics-web-config) or pass --metrics-insecure to serve "
            "plaintext there anyway");
  EXPECT_NE(CheckMetricsSecurity("[::]:9464", plain, false), "");
  EXPECT_NE(CheckMetricsSecurity("10.1.2.3:9464", plain, false), "");
  EXPECT_EQ(CheckMetricsSecurity("0.0.0.0:9464", plain, true), "");
  EXPECT_EQ(CheckMetricsSecurity("0.0.0.0:9464", tls, false), "");
}

}  // namespace
}  // namespace ppsim::daemon
