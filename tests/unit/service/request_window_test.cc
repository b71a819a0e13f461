// server/service/request_window: which request ids are accepted (and how a refused one is
// named), and a window that keeps the first outcome of each id and forgets the oldest id past
// its bound.
#include "server/service/request_window.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ppsim::service {
namespace {

v1::ApplyResponse Outcome(uint64_t applied) {
  v1::ApplyResponse r;
  r.add_results()->set_device(1);
  r.set_applied(applied);
  r.set_ops(applied);
  r.set_digest(0xabc);
  return r;
}

TEST(RequestIdTest, EmptyAndPrintableAsciiUpTo128BytesAreAccepted) {
  EXPECT_TRUE(ValidateRequestId("").ok());
  EXPECT_TRUE(ValidateRequestId("ppctl-3f2a/0 retry #2 ~!").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(kMaxRequestIdBytes, 'x')).ok());
}

TEST(RequestIdTest, ARefusedIdIsNamedWithItsValue) {
  absl::Status s = ValidateRequestId("run\n7");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "request_id: \"run\\n7\" has a byte that is not printable ASCII at 3");
  s = ValidateRequestId("caf\xc3\xa9");
  EXPECT_EQ(s.message(),
            "request_id: \"caf\\xc3\\xa9\" has a byte that is not printable ASCII at 3");
  s = ValidateRequestId(std::string(129, 'y'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "request_id: \"" + std::string(40, 'y') +
                             "\"... is 129 bytes; at most 128");
}

TEST(RequestWindowTest, KeepsTheFirstOutcomeWithoutResults) {
  RequestWindow w;
  EXPECT_EQ(w.Find("a"), nullptr);
  w.Remember("a", Outcome(1));
  w.Remember("a", Outcome(5));  // an id keeps its first outcome
  const v1::ApplyResponse* a = w.Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->applied(), 1u);
  EXPECT_EQ(a->digest(), 0xabcu);
  EXPECT_TRUE(a->replayed());
  EXPECT_EQ(a->results_size(), 0) << "results are not kept";
  EXPECT_EQ(w.size(), 1u);
}

TEST(RequestWindowTest, PastItsBoundTheOldestIdIsForgotten) {
  RequestWindow w(3);
  for (const char* id : {"a", "b", "c", "d"}) w.Remember(id, Outcome(1));
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.Find("a"), nullptr);
  EXPECT_NE(w.Find("b"), nullptr);
  EXPECT_NE(w.Find("d"), nullptr);
  w.Remember("a", Outcome(2));  // a forgotten id is new again
  EXPECT_EQ(w.Find("b"), nullptr);
  EXPECT_EQ(w.Find("a")->applied(), 2u);
}

}  // namespace
}  // namespace ppsim::service
