// client/oracle/ops_file.h: the kernel oracle's op language as the test module reads it.
#include "client/oracle/ops_file.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::oracle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(OpsFileTest, EverySequenceOfTheOracleParses) {
  int files = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(PPSIM_SOURCE_DIR "/tests/oracle/sequences")) {
    if (e.path().extension() != ".ops") continue;
    ++files;
    absl::StatusOr<OpsFile> f = ReadOpsFile(e.path().string());
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->sequence, e.path().stem().string());
    for (const OracleOp& op : f->ops) {
      EXPECT_EQ(op.text.find('#'), std::string::npos) << e.path() << ":" << op.line;
    }
  }
  EXPECT_GT(files, 0);
}

TEST(OpsFileTest, ReadsFieldsContextsAndSkipsComments) {
  absl::StatusOr<OpsFile> f = ParseOpsFile("dir/t.ops",
                                           "# a sequence\n"
                                           "\n"
                                           "netdev_register\n"
                                           "page_pool_create netdev=lo pool_size=0x40 "
                                           "dma_dir=bidirectional\n"
                                           "page_pool_put_page page=2   allow_direct @napi  # why\n"
                                           "page_pool_put_page_bulk pages=3,4,5 @softirq:0\n"
                                           "advance_time ns=1500ms\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->sequence, "t");
  ASSERT_EQ(f->ops.size(), 5u);
  EXPECT_EQ(f->ops[0].line, 3);
  EXPECT_EQ(f->ops[0].ctx, OracleCtx::kDefault);
  EXPECT_EQ(*f->ops[1].Find("netdev"), "lo");
  EXPECT_EQ(f->ops[1].Int("pool_size", 0), 64);
  EXPECT_EQ(f->ops[1].Int("order", 7), 7);  // absent: the default
  EXPECT_TRUE(f->ops[2].Bool("allow_direct", false));  // a bare key is true
  EXPECT_EQ(f->ops[2].ctx, OracleCtx::kNapi);
  EXPECT_EQ(f->ops[2].text, "page_pool_put_page page=2 allow_direct @napi");
  EXPECT_THAT(f->ops[3].IntList("pages"), ElementsAre(3, 4, 5));
  EXPECT_EQ(f->ops[3].ctx, OracleCtx::kBh);
  EXPECT_EQ(f->ops[4].DurationNs("ns"), 1'500'000'000);
  EXPECT_EQ(f->ops[4].line, 7);
}

TEST(OpsFileTest, DurationsAsTheRunnerReadsThem) {
  EXPECT_EQ(ParseDurationNs("62s"), 62'000'000'000);
  EXPECT_EQ(ParseDurationNs("1200us"), 1'200'000);
  EXPECT_EQ(ParseDurationNs("5ns"), 5);
  EXPECT_EQ(ParseDurationNs("5"), 5);
  EXPECT_EQ(ParseDurationNs("1.5s"), 1'500'000'000);
  EXPECT_EQ(ParseDurationNs("5m"), std::nullopt);
  EXPECT_EQ(ParseDurationNs("-1s"), std::nullopt);
  EXPECT_EQ(ParseDurationNs("ms"), std::nullopt);
}

// Each bad line names the file, its line and the field, as `file:line: field: what`.
TEST(OpsFileTest, BadLineNamesFileLineAndField) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"add_device\n\npage_pool_alloc_pages pool=1 cout=4\n",
       "dir/bad.ops:3: cout: page_pool_alloc_pages has no field cout (fields: pool, count)"},
      {"add_device\npage_pool_alloc_pages pool=1 count=four\n",
       "dir/bad.ops:2: count: \"four\" is not an integer"},
      {"page_pool_frobnicate pool=1\n", "dir/bad.ops:1: op: unknown op \"page_pool_frobnicate\""},
      {"reset\n", "dir/bad.ops:1: op: unknown op \"reset\""},  // the runner's epilogue
      {"page_pool_alloc_pages pool=1 @irq\n", "dir/bad.ops:1: context: @irq"},
      {"get_page page=1 page=2\n", "dir/bad.ops:1: page: given twice"},
      {"page_pool_put_page_bulk pages=1,x\n", "dir/bad.ops:1: pages: \"x\" is not a page index"},
      {"page_pool_put_page page=1 allow_direct=maybe\n",
       "dir/bad.ops:1: allow_direct: \"maybe\" is not a bool"},
      {"page_pool_create netdev=eth0\n", "dir/bad.ops:1: netdev: \"eth0\" is not a netdev"},
      {"advance_time ns=2 minutes\n", "dir/bad.ops:1: minutes: advance_time has no field"},
      {"observe extra=1\n", "dir/bad.ops:1: extra: observe has no field extra (fields: none)"},
      {"# only a comment\n", "dir/bad.ops: no ops"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<OpsFile> f = ParseOpsFile("dir/bad.ops", c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
    EXPECT_THAT(std::string(f.status().message()), StartsWith(c.message)) << c.text;
  }
}

// skb_build's frags as tests/oracle/kmod/ppo_skb.c parse_frags reads them: PAGE[+OFF][:LEN].
TEST(OpsFileTest, SkbBuildFragsAsTheModuleReadsThem) {
  absl::StatusOr<OpsFile> f =
      ParseOpsFile("x.ops", "skb_build head=1 frags=2,3+2048:1024,4:512 recycle=false @process\n");
  ASSERT_TRUE(f.ok()) << f.status();
  const std::vector<OracleFrag> frags = f->ops[0].Frags("frags");
  ASSERT_EQ(frags.size(), 3u);
  EXPECT_EQ(frags[0].page, 2);
  EXPECT_EQ(frags[0].len, 0) << "0: to the end of the page";
  EXPECT_EQ(frags[1].page, 3);
  EXPECT_EQ(frags[1].off, 2048);
  EXPECT_EQ(frags[1].len, 1024);
  EXPECT_EQ(frags[2].off, 0);
  EXPECT_EQ(frags[2].len, 512);
  EXPECT_FALSE(f->ops[0].Bool("recycle", true));
  EXPECT_EQ(f->ops[0].ctx, OracleCtx::kProcess);
  EXPECT_FALSE(ParseFrag("0").has_value()) << "pages are 1-based";
  EXPECT_FALSE(ParseFrag("2+x").has_value());
  absl::StatusOr<OpsFile> bad = ParseOpsFile("x.ops", "skb_build frags=2,+1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("frags"));
}

TEST(OpsFileTest, UnreadableFileIsNotFound) {
  absl::StatusOr<OpsFile> f = ReadOpsFile("/nonexistent/x.ops");
  EXPECT_TRUE(absl::IsNotFound(f.status())) << f.status();
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("/nonexistent/x.ops"));
}

}  // namespace
}  // namespace ppsim::oracle
