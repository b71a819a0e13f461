// server/convert/trace_jsonl: a trace survives JSON lines unchanged, one op per line with the
// .proto field names, and a bad line is named by its number.
#include "server/convert/trace_jsonl.h"

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::convert {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<sim::Op> SampleTrace() {
  return {
      sim::Op{.body = sim::op::AddDevice{}},
      sim::Op{.body = sim::op::BindDriver{.device = 1, .strategy = "legacy"}},
      sim::Op{.ctx = {sim::CtxKind::kSoftirq, 1},
              .body = sim::op::PagePoolAllocPages{.pool = 1, .count = 4}},
      sim::Op{.body = sim::op::SetFault{.site = "fail_dma_map", .probability = 0.5}},
  };
}

TEST(TraceJsonlTest, RoundTripsOneOpPerLine) {
  const std::vector<sim::Op> ops = SampleTrace();
  const std::string jsonl = TraceToJsonl(ops);
  const std::vector<std::string> lines = absl::StrSplit(jsonl, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), ops.size());
  EXPECT_THAT(lines[2], HasSubstr("\"page_pool_alloc_pages\""));  // proto names, not camelCase
  EXPECT_THAT(lines[2], HasSubstr("CTX_SOFTIRQ"));

  absl::StatusOr<std::vector<sim::Op>> back = TraceFromJsonl(jsonl);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(sim::OpToString((*back)[i]), sim::OpToString(ops[i]));
  }
}

TEST(TraceJsonlTest, BlankLinesAreSkippedAndAnEmptyTraceIsEmpty) {
  EXPECT_TRUE(TraceFromJsonl("")->empty());
  absl::StatusOr<std::vector<sim::Op>> ops = TraceFromJsonl("\n{\"add_device\":{}}\n\n");
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ(ops->size(), 1u);
}

TEST(TraceJsonlTest, ErrorsNameTheLine) {
  const std::string good = "{\"add_device\":{}}\n";
  absl::StatusOr<std::vector<sim::Op>> syntax = TraceFromJsonl(good + good + "{not json\n");
  EXPECT_EQ(syntax.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(syntax.status().message()), StartsWith("jsonl: line 3: "));

  absl::StatusOr<std::vector<sim::Op>> unknown = TraceFromJsonl(good + "{\"add_devize\":{}}\n");
  EXPECT_THAT(std::string(unknown.status().message()), StartsWith("jsonl: line 2: "));

  absl::StatusOr<std::vector<sim::Op>> no_op = TraceFromJsonl("{}\n");
  EXPECT_EQ(no_op.status().message(), "jsonl: line 1: op: no op is set");
}

}  // namespace
}  // namespace ppsim::convert
