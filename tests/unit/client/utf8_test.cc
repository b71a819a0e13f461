// client/lib/utf8.h: the check every ppctl input path runs before parsing (issue 21 item 8:
// `ppctl run` on a scenario with one invalid byte died with an uncaught nlohmann type_error).
#include "client/lib/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace ppsim::client {
namespace {

TEST(Utf8Test, AcceptsAsciiAndWellFormedSequences) {
  EXPECT_TRUE(CheckUtf8("name: x\nsteps: []\n", "a.yaml").ok());
  EXPECT_TRUE(CheckUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "a.yaml").ok());
  EXPECT_TRUE(CheckUtf8("", "a.yaml").ok());
}

TEST(Utf8Test, NamesFileLineColumnAndByte) {
  const absl::Status s = CheckUtf8("name: x\nsteps:\n  - op: a\xff\n", "s.yaml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "s.yaml:3:10: byte 0xff is not valid UTF-8 (the file must be UTF-8 text)");
}

TEST(Utf8Test, RefusesOverlongsSurrogatesTruncationAndBeyondU10FFFF) {
  for (const std::string& bad : {std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"),
                                std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                                std::string("\xe2\x82"), std::string("\x80"),
                                std::string("\xf8\x88\x80\x80\x80")}) {
    const absl::Status s = CheckUtf8("ok " + bad, "t.jsonl");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << absl::CEscape(bad);
    EXPECT_TRUE(absl::StartsWith(s.message(), "t.jsonl:1:4: byte 0x")) << s.message();
  }
}

}  // namespace
}  // namespace ppsim::client
