// server/daemon_options: ppsimd's flags over its YAML file over the embedded defaults, and
// exit status 64 with a message naming the flag or key for anything it does not understand.
#include "server/daemon_options.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::daemon {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  int rc;
  DaemonOptions options;
  std::string out, err;
};

Parsed Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ppsimd");
  Parsed p;
  std::ostringstream out, err;
  p.rc = ParseDaemonOptions(static_cast<int>(args.size()), args.data(), &p.options, out, err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

// A YAML file in the test's temp directory.
std::string WriteYaml(const std::string& name, const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "-" + name)).string();
  std::ofstream(path) << text;
  return path;
}

TEST(DaemonOptionsTest, NoArgumentsServeOnLoopbackWithDefaults) {
  Parsed p = Parse({});
  EXPECT_EQ(p.rc, -1) << p.err;
  EXPECT_EQ(p.options.listen, "127.0.0.1:50051");
  EXPECT_EQ(p.options.metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(p.options.data_dir, "./ppsim-data");
  EXPECT_EQ(p.options.log_format, "text");
  EXPECT_EQ(p.options.log_level, "info");
  EXPECT_EQ(p.options.ready_file, "");
}

TEST(DaemonOptionsTest, HelpDocumentsEveryFlag) {
  Parsed p = Parse({"--help"});
  EXPECT_EQ(p.rc, 0);
  for (const char* flag : {"--listen", "--metrics-listen", "--data-dir", "--log-format",
                           "--log-level", "--ready-file", "--config", "--version"}) {
    EXPECT_THAT(p.out, HasSubstr(flag));
  }
}

TEST(DaemonOptionsTest, BadFlagsExit64NamingThem) {
  Parsed unknown = Parse({"--bogus"});
  EXPECT_EQ(unknown.rc, kExitUsage);
  EXPECT_THAT(unknown.err, HasSubstr("--bogus"));

  Parsed listen = Parse({"--listen", "localhost"});
  EXPECT_EQ(listen.rc, kExitUsage);
  EXPECT_THAT(listen.err, HasSubstr("--listen"));
  EXPECT_THAT(listen.err, HasSubstr("HOST:PORT"));

  Parsed port = Parse({"--metrics-listen", "127.0.0.1:99999"});
  EXPECT_EQ(port.rc, kExitUsage);
  EXPECT_THAT(port.err, HasSubstr("--metrics-listen"));

  Parsed format = Parse({"--log-format", "xml"});
  EXPECT_EQ(format.rc, kExitUsage);
  EXPECT_THAT(format.err, HasSubstr("--log-format: \"xml\""));
}

TEST(DaemonOptionsTest, YamlSetsWhatTheCommandLineDoesNot) {
  const std::string path = WriteYaml("good.yaml",
                                     "listen: 0.0.0.0:0\n"
                                     "log-format: json\n"
                                     "data-dir: /tmp/x\n");
  Parsed p = Parse({"--config", path.c_str(), "--data-dir", "/var/lib/ppsim"});
  EXPECT_EQ(p.rc, -1) << p.err;
  EXPECT_EQ(p.options.listen, "0.0.0.0:0");
  EXPECT_EQ(p.options.log_format, "json");
  EXPECT_EQ(p.options.data_dir, "/var/lib/ppsim") << "flags win over the file";
  EXPECT_EQ(p.options.metrics_listen, "127.0.0.1:9464");
  std::filesystem::remove(path);
}

TEST(DaemonOptionsTest, BadYamlExits64NamingTheKeyAndLine) {
  const std::string unknown = WriteYaml("unknown.yaml", "listen: 127.0.0.1:0\nlisten_port: 1\n");
  Parsed p = Parse({"--config", unknown.c_str()});
  EXPECT_EQ(p.rc, kExitUsage);
  EXPECT_THAT(p.err, HasSubstr("line 2: unknown key \"listen_port\""));

  const std::string bad_value = WriteYaml("value.yaml", "log-level: loud\n");
  p = Parse({"--config", bad_value.c_str()});
  EXPECT_EQ(p.rc, kExitUsage);
  EXPECT_THAT(p.err, HasSubstr("line 1: log-level: \"loud\""));

  const std::string not_a_map = WriteYaml("list.yaml", "- listen\n");
  p = Parse({"--config", not_a_map.c_str()});
  EXPECT_EQ(p.rc, kExitUsage);
  EXPECT_THAT(p.err, HasSubstr("expected a mapping"));

  p = Parse({"--config", "/nonexistent/ppsimd.yaml"});
  EXPECT_EQ(p.rc, kExitUsage);
  EXPECT_THAT(p.err, HasSubstr("--config: cannot read"));
  for (const std::string& f : {unknown, bad_value, not_a_map}) std::filesystem::remove(f);
}

TEST(DaemonOptionsTest, CheckHostPort) {
  EXPECT_EQ(CheckHostPort("127.0.0.1:0"), "");
  EXPECT_EQ(CheckHostPort("[::]:50051"), "");
  EXPECT_NE(CheckHostPort(":50051"), "");
  EXPECT_NE(CheckHostPort("host"), "");
  EXPECT_NE(CheckHostPort("host:"), "");
  EXPECT_NE(CheckHostPort("host:65536"), "");
  EXPECT_NE(CheckHostPort("host:12ab"), "");
}

}  // namespace
}  // namespace ppsim::daemon
