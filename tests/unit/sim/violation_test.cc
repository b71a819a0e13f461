// Tests for server/sim/violation.h: the violation catalog of docs/design.md §3.11 and Explain().
#include "server/sim/violation.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Row {
  const char* name;
  Severity severity;
};

// docs/design.md §3.11, in id order.
const std::vector<Row> kDesignTable = {
    {"unmap-after-iommu-teardown", Severity::kCrash},
    {"dma-api-after-unbind", Severity::kCorruption},
    {"device-dma-unmapped-iova", Severity::kCrash},
    {"device-dma-reused-iova", Severity::kCorruption},
    {"pending-dma-at-unbind", Severity::kWarning},
    {"bad-unmap", Severity::kCorruption},
    {"use-after-recycle", Severity::kCorruption},
    {"double-recycle", Severity::kCorruption},
    {"refcount-underflow", Severity::kCrash},
    {"page-use-after-free", Severity::kCrash},
    {"page-pool-leak", Severity::kWarning},
    {"stalled-pool-shutdown", Severity::kWarning},
    {"bh-disabled-too-long", Severity::kWarning},  // default; escalates to crash past 20 s
    {"removal-blocked", Severity::kWarning},
    {"pool-use-after-free", Severity::kCrash},
    {"wrong-pool-return", Severity::kCorruption},
    {"leak-at-end", Severity::kLeak},
    {"stale-cpu-read", Severity::kCorruption},  // ppsim's addition: the swiotlb skip-sync hole
};

TEST(ViolationCatalogTest, MatchesTheDesignTable) {
  ASSERT_EQ(kDesignTable.size(), 18u);
  const auto catalog = ViolationCatalog();
  ASSERT_EQ(catalog.size(), 18u);
  ASSERT_EQ(kViolationCount, 18);
  for (size_t i = 0; i < catalog.size(); ++i) {
    const CatalogEntry& e = catalog[i];
    const std::string code = absl::StrFormat("PP%03d", i + 1);
    EXPECT_EQ(static_cast<size_t>(e.id), i + 1);
    EXPECT_EQ(e.code, code);
    EXPECT_EQ(e.name, kDesignTable[i].name) << code;
    EXPECT_EQ(e.severity, kDesignTable[i].severity) << code;
    EXPECT_FALSE(e.when.empty()) << code;
    EXPECT_EQ(&CatalogOf(e.id), &e) << code;
  }
}

TEST(ViolationCatalogTest, SeverityNames) {
  EXPECT_EQ(SeverityName(Severity::kWarning), "warning");
  EXPECT_EQ(SeverityName(Severity::kLeak), "leak");
  EXPECT_EQ(SeverityName(Severity::kCorruption), "corruption");
  EXPECT_EQ(SeverityName(Severity::kCrash), "crash");
}

TEST(ParseViolationIdTest, AcceptsCodeAndName) {
  for (const CatalogEntry& e : ViolationCatalog()) {
    absl::StatusOr<ViolationId> by_code = ParseViolationId(e.code);
    ASSERT_TRUE(by_code.ok()) << e.code;
    EXPECT_EQ(*by_code, e.id);
    absl::StatusOr<ViolationId> by_name = ParseViolationId(e.name);
    ASSERT_TRUE(by_name.ok()) << e.name;
    EXPECT_EQ(*by_name, e.id);
  }
  EXPECT_EQ(*ParseViolationId("device-dma-reused-iova"), ViolationId::kPP004);
}

TEST(ParseViolationIdTest, RejectsUnknownIds) {
  for (const char* bad : {"PP000", "PP019", "pp001", "", "use-after-free"}) {
    absl::StatusOr<ViolationId> id = ParseViolationId(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(id.status().message()), HasSubstr(absl::StrFormat("\"%s\"", bad)));
  }
}

PageEvent Ev(PageEventKind kind, uint64_t op, Nanos t) {
  PageEvent e;
  e.kind = kind;
  e.op_index = op;
  e.time = t;
  e.pfn = 0x1234;
  e.pool = 3;
  e.ctx = CtxKind::kSoftirq;
  e.cpu = 1;
  return e;
}

TEST(ViolationTest, ExplainIncludesHeadlineMessageAndHistory) {
  Violation v;
  v.id = ViolationId::kPP007;
  v.severity = Severity::kCorruption;
  v.op_index = 42;
  v.time = 1500 * kMillisecond;
  v.message = "page handed out while an skb still holds it";
  v.pfn = 0x1234;
  v.pool = 3;
  v.device = 2;
  v.strategy = "legacy";
  v.history = {Ev(PageEventKind::kHandout, 41, kSecond), Ev(PageEventKind::kRecycleCache, 40, 0)};
  v.faults = {Ev(PageEventKind::kFault, 39, 0)};
  EXPECT_EQ(v.code(), "PP007");

  const std::string text = v.Explain();
  EXPECT_THAT(text, HasSubstr("PP007"));
  EXPECT_THAT(text, HasSubstr("use-after-recycle"));
  EXPECT_THAT(text, HasSubstr("[corruption]"));
  EXPECT_THAT(text, HasSubstr("op #42"));
  EXPECT_THAT(text, HasSubstr("pfn=0x1234"));
  EXPECT_THAT(text, HasSubstr("strategy=legacy"));
  EXPECT_THAT(text, HasSubstr(v.message));
  // Newest first, one line per event, with the kernel-ish event names.
  const size_t handout = text.find("pool_handout");
  const size_t recycle = text.find("recycle_cache");
  ASSERT_NE(handout, std::string::npos);
  ASSERT_NE(recycle, std::string::npos);
  EXPECT_LT(handout, recycle);
  EXPECT_THAT(text, HasSubstr("op#41"));
  EXPECT_THAT(text, HasSubstr("softirq:1"));
  EXPECT_THAT(text, HasSubstr("injected faults"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6);  // headline+message+2+2+1 faults
}

TEST(ViolationTest, ExplainUsesTheRecordedSeverityAndOmitsEmptySections) {
  // PP013 escalates from its default warning to crash past 20 s (docs/design.md §3.11).
  Violation v;
  v.id = ViolationId::kPP013;
  v.severity = Severity::kCrash;
  v.message = "BH disabled for 25 s";
  const std::string text = v.Explain();
  EXPECT_THAT(text, HasSubstr("PP013 bh-disabled-too-long [crash]"));
  EXPECT_THAT(text, Not(HasSubstr("page history")));
  EXPECT_THAT(text, Not(HasSubstr("injected faults")));
  EXPECT_THAT(text, Not(HasSubstr("pfn=")));
}

}  // namespace
}  // namespace ppsim::sim
