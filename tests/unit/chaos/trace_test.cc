// client/chaos/trace: ppsim.trace/v1 round-trips (ops, symbolic lines, config, 64-bit values)
// and every malformed input is an error naming its line and field.
#include "client/chaos/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/str_join.h"
#include "client/lib/op_line.h"
#include "google/protobuf/util/message_differencer.h"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TracedOp Op(const std::string& concrete, const std::string& line = "", const std::string& as = "") {
  absl::StatusOr<v1::Op> op = client::ParseOpLine(concrete);
  EXPECT_TRUE(op.ok()) << op.status();
  return {.op = op.ok() ? *op : v1::Op(), .line = line, .as = as};
}

Trace Sample() {
  Trace t;
  t.scenario = "unbind-inflight";
  t.strategy = "dma-tracking";
  t.seed = 0xfedcba9876543210ULL;  // above 2^53: a JSON double would lose it
  t.target = "";
  t.config.set_profile("v6.8");
  t.config.set_seed(t.seed);
  t.config.set_iommu_model("intel");
  t.config.set_default_strategy("dma-tracking");
  auto* sw = t.config.add_profile_switches();
  sw->set_name("release_data_clears_pp_recycle");
  sw->set_value("true");
  t.ops.push_back(Op("add_device", "add_device", "dev"));
  t.ops.push_back(Op("bind_driver device=1 flags=1", "bind_driver device=$dev flags=1", "nic"));
  t.ops.push_back(Op("page_pool_alloc_pages pool=1 count=2 @softirq:0",
                     "page_pool_alloc_pages pool=$nic.pools[0] count=2 @softirq:0", "p"));
  t.ops.push_back(Op("advance_time ns=18446744073709551"));  // no line: an imported op
  t.digest = 0xffffffffffffffffULL;
  t.violations = {{"PP005", 3}, {"PP017", 1}};
  return t;
}

void ExpectSame(const Trace& a, const Trace& b) {
  EXPECT_EQ(a.scenario, b.scenario);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.target, b.target);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a.config, b.config))
      << a.config.DebugString() << " vs " << b.config.DebugString();
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a.ops[i].op, b.ops[i].op))
        << "op " << i << ": " << client::FormatOpLine(a.ops[i].op) << " vs "
        << client::FormatOpLine(b.ops[i].op);
    EXPECT_EQ(a.ops[i].line, b.ops[i].line) << i;
    EXPECT_EQ(a.ops[i].as, b.ops[i].as) << i;
  }
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.violations, b.violations);
}

TEST(TraceTest, RoundTripsEveryField) {
  const Trace t = Sample();
  const std::string text = TraceToJsonl(t);
  absl::StatusOr<Trace> back = TraceFromJsonl(text, "t.jsonl");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(t, *back);
  EXPECT_EQ(TraceToJsonl(*back), text) << "printing is deterministic";
}

TEST(TraceTest, OneRecordPerLineWithHeaderAndEnd) {
  const std::string text = TraceToJsonl(Sample());
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1 + 4 + 1u);
  EXPECT_THAT(lines[0], StartsWith("{\"schema\":\"ppsim.trace/v1\""));
  EXPECT_THAT(lines[0], HasSubstr("\"seed\":\"18364758544493064720\""));
  EXPECT_THAT(lines[2], HasSubstr("\"bind_driver\":{\"device\":1"))
      << "ops use the .proto field names, as ExportTrace does";
  EXPECT_THAT(lines[2], HasSubstr("\"line\":\"bind_driver device=$dev flags=1\",\"as\":\"nic\""));
  EXPECT_THAT(lines[4], Not(HasSubstr("\"line\""))) << "an op without a symbolic line";
  EXPECT_THAT(lines[5], HasSubstr("\"digest\":\"0xffffffffffffffff\""));
  EXPECT_THAT(lines[5], HasSubstr("\"ops\":\"4\""));
}

TEST(TraceTest, EmptyRunRoundTrips) {
  Trace t;
  absl::StatusOr<Trace> back = TraceFromJsonl(TraceToJsonl(t));
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSame(t, *back);
}

TEST(TraceTest, AcceptsCamelCaseOpsAndBlankLines) {
  const std::string text =
      "{\"schema\":\"ppsim.trace/v1\",\"config\":{\"profile\":\"v6.8\"}}\n\n"
      "{\"i\":0,\"op\":{\"addDevice\":{}}}\n"
      "{\"i\":1,\"op\":{\"advanceTime\":{\"ns\":\"5\"}}}\n"
      "{\"end\":true,\"ops\":2,\"digest\":\"12\"}\n";
  absl::StatusOr<Trace> t = TraceFromJsonl(text);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->ops.size(), 2u);
  EXPECT_EQ(client::FormatOpLine(t->ops[1].op), "advance_time ns=5");
  EXPECT_EQ(t->digest, 12u);
}

// Each malformed trace and the "file:line: field" its error must name.
struct Bad {
  const char* what;
  int line;            // the 1-based line to break (-1 = drop it)
  std::string text;    // the replacement
  std::string expect;  // substring of the error
};

TEST(TraceTest, ErrorsNameLineAndField) {
  const std::string good = TraceToJsonl(Sample());
  std::vector<std::string> lines = absl::StrSplit(good, '\n', absl::SkipEmpty());
  const std::vector<Bad> cases = {
      {"wrong schema", 1, R"({"schema":"ppsim.trace/v9","config":{}})", "t.jsonl:1: schema:"},
      {"no config", 1, R"({"schema":"ppsim.trace/v1"})", "t.jsonl:1: config: missing"},
      {"bad config field", 1, R"({"schema":"ppsim.trace/v1","config":{"ram":1}})",
       "t.jsonl:1: config:"},
      {"bad seed", 1, R"({"schema":"ppsim.trace/v1","seed":"12x","config":{}})",
       "t.jsonl:1: seed: expected a 64-bit integer, got \"12x\""},
      {"garbled", 3, R"({"i":1,"op":{"bind_dri)", "t.jsonl:3: json: not a JSON object"},
      {"index out of order", 3, R"({"i":5,"op":{"add_device":{}}})",
       "t.jsonl:3: i: expected 1"},
      {"unknown op", 4, R"({"i":2,"op":{"alloc_everything":{}}})", "t.jsonl:4: op:"},
      {"bad op field type", 4, R"({"i":2,"op":{"page_pool_alloc_pages":{"pool":"x"}}})",
       "t.jsonl:4: op:"},
      {"empty op", 4, R"({"i":2,"op":{}})", "t.jsonl:4: op: names no op"},
      {"unknown record field", 5, R"({"i":3,"op":{"add_device":{}},"ass":"x"})",
       "t.jsonl:5: ass: unknown field"},
      {"line not a string", 5, R"({"i":3,"op":{"add_device":{}},"line":3})",
       "t.jsonl:5: line: expected a string"},
      {"lost op line", 5, "", "t.jsonl:6: ops: 4 but the trace holds 3 op records"},
      {"bad digest", 6, R"({"end":true,"ops":"4","digest":"0xzz"})", "t.jsonl:6: digest:"},
      {"truncated: no end", 6, "", "t.jsonl:6: end: missing end record after 4 ops"},
  };
  for (const Bad& c : cases) {
    std::vector<std::string> broken = lines;
    broken[c.line - 1] = c.text;
    absl::StatusOr<Trace> t = TraceFromJsonl(absl::StrJoin(broken, "\n") + "\n", "t.jsonl");
    ASSERT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.expect)) << c.what;
  }
}

TEST(TraceTest, CutMidLineIsAnErrorOnThatLine) {
  const std::string good = TraceToJsonl(Sample());
  // Cut in the middle of the third op record (line 4).
  const size_t cut = good.find("\"i\":2") + 20;
  absl::StatusOr<Trace> t = TraceFromJsonl(good.substr(0, cut), "t.jsonl");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("t.jsonl:4: json:"));
}

TEST(TraceTest, RecordsAfterTheEndAreAnError) {
  const std::string text = TraceToJsonl(Sample()) + "{\"i\":4,\"op\":{\"add_device\":{}}}\n";
  absl::StatusOr<Trace> t = TraceFromJsonl(text, "t.jsonl");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("t.jsonl:7: end: records after"));
}

TEST(TraceTest, ReadsFilesAndNamesAMissingOne) {
  const std::string path = ::testing::TempDir() + "/trace_test.jsonl";
  {
    std::ofstream out(path);
    out << TraceToJsonl(Sample());
  }
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  ASSERT_TRUE(t.ok()) << t.status();
  ExpectSame(Sample(), *t);
  std::remove(path.c_str());
  absl::StatusOr<Trace> gone = ReadTraceFile(path);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(gone.status().message()), HasSubstr(path));
}

TEST(TraceTest, TraceOfTakesTheRunsOpsDigestAndCounts) {
  ScenarioResult r{.scenario = "s", .seed = 7, .target = "host:1"};
  RunResult run{.strategy = "legacy", .digest = 99, .seed = 9};
  run.violations.push_back({.id = "PP001", .count = 2});
  run.trace = Sample().ops;
  v1::LabConfig config;
  config.set_seed(9);
  const Trace t = TraceOf(r, run, config);
  EXPECT_EQ(t.scenario, "s");
  EXPECT_EQ(t.strategy, "legacy");
  EXPECT_EQ(t.seed, 9u);
  EXPECT_EQ(t.target, "host:1");
  EXPECT_EQ(t.digest, 99u);
  EXPECT_EQ(t.ops.size(), 4u);
  EXPECT_EQ(t.violations, (std::map<std::string, uint64_t>{{"PP001", 2}}));
  EXPECT_EQ(t.config.seed(), 9u);
}

}  // namespace
}  // namespace ppsim::chaos
