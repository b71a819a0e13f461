// PPSIM_CHECK and FindOrDie (server/sim/check.h): a broken ppsim invariant stops the process
// with file:line, the condition and the message; a kept one costs nothing, not even the
// message.
#include "server/sim/check.h"

#include <map>

#include <gtest/gtest.h>

namespace ppsim::sim {
namespace {

TEST(PpsimCheckDeathTest, AbortsWithFileLineConditionAndMessage) {
  const int pool = 7;
  EXPECT_DEATH(PPSIM_CHECK(pool == 8, "pool ", pool, " lost its NAPI"),
               "check_test\\.cc:[0-9]+: ppsim invariant broken: pool == 8: pool 7 lost its NAPI");
}

TEST(PpsimCheckDeathTest, MessageIsOptional) {
  EXPECT_DEATH(PPSIM_CHECK(false), "check_test\\.cc:[0-9]+: ppsim invariant broken: false\n");
}

TEST(PpsimCheckTest, KeptCheckDoesNotEvaluateTheMessage) {
  int evaluated = 0;
  auto message = [&] {
    ++evaluated;
    return "never";
  };
  PPSIM_CHECK(1 + 1 == 2, message());
  EXPECT_EQ(evaluated, 0);
}

TEST(PpsimCheckDeathTest, FindOrDieNamesTheCallerAndTheMissingKey) {
  std::map<uint32_t, int> skbs = {{1, 10}};
  EXPECT_EQ(FindOrDie(skbs, 1, "skb"), 10);
  FindOrDie(skbs, 1, "skb") = 11;  // a reference into the map, not a copy
  EXPECT_EQ(skbs.at(1), 11);
  EXPECT_DEATH(FindOrDie(skbs, 2, "skb"), "check_test\\.cc:[0-9]+: .*skb 2 does not exist");
}

}  // namespace
}  // namespace ppsim::sim
