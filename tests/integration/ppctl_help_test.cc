// ppctl's exit codes (client/chaos/exit_codes.h) as a user meets them: every command in the
// table lists, in its real --help, each code it can exit with, and no two codes share a number.
// Before the table, `ppctl run --help` left out 2 (unknown) although run exits 2.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/chaos/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

TEST(PpctlHelpTest, NoTwoExitCodesShareANumberOrAName) {
  std::set<int> codes;
  std::set<absl::string_view> names;
  for (const ExitCodeInfo& c : kExitCodes) {
    EXPECT_TRUE(codes.insert(c.code).second) << c.code;
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_FALSE(c.meaning.empty()) << c.code;
  }
}

TEST(PpctlHelpTest, EveryCodeInTheTableIsSomeCommandsCode) {
  std::set<int> used;
  for (const CommandExits& c : kCommandExits) {
    for (const ExitUse& u : c.codes) used.insert(u.code);
  }
  for (const ExitCodeInfo& c : kExitCodes) EXPECT_TRUE(used.count(c.code)) << c.code;
}

TEST(PpctlHelpTest, EveryCommandsHelpListsEachOfItsCodes) {
  for (const CommandExits& c : kCommandExits) {
    SCOPED_TRACE(c.command);
    const testing::CommandResult r = testing::RunCommand({PPCTL_PATH, std::string(c.command),
                                                          "--help"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(ExitCodeHelp(c.command)));
    for (const ExitUse& u : c.codes) {
      absl::string_view says = u.says;
      for (const ExitCodeInfo& info : kExitCodes) {
        if (says.empty() && info.code == u.code) says = info.name;
      }
      EXPECT_THAT(r.out, HasSubstr(absl::StrCat(u.code, " ", says))) << "exit " << u.code;
    }
  }
}

// The rule of the single-RPC commands, stated by ppctl's own help with the table's numbers.
TEST(PpctlHelpTest, TopLevelHelpStatesTheRpcRule) {
  const testing::CommandResult r = testing::RunCommand({PPCTL_PATH, "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("exit ", kExitRpcBase, " + the gRPC status code")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("(", RpcExitCode(absl::StatusCode::kUnavailable),
                                            ": the")));
}

}  // namespace
}  // namespace ppsim::chaos
