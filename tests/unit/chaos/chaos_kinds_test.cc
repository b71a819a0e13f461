// client/chaos/chaos_kinds.cc: the table of chaos op kinds is complete (every row has its
// fields and handlers, and its emitter really emits the op its row names), its names are
// unique, and what is generated from it elsewhere (the scenario schema's list, --help-kinds)
// agrees with it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/chaos/chaos_cli.h"
#include "client/chaos/chaos_world.h"
#include "client/chaos/generator.h"
#include "client/chaos/lab_target.h"
#include "client/chaos/runner.h"
#include "client/chaos/scenario_loader.h"
#include "nlohmann/json.hpp"

namespace ppsim::chaos {
namespace {

using ::testing::HasSubstr;

// The op a row says its kind emits: the first word of `emits`.
std::string FirstOp(absl::string_view emits) {
  return std::string(emits.substr(0, emits.find_first_of(" ,")));
}

TEST(ChaosKindsTest, EveryRowIsCompleteAndNamedOnce) {
  std::set<std::string> names;
  bool any_weight = false;
  for (const ChaosWorld::KindRow& row : ChaosWorld::Kinds()) {
    const std::string name(row.kind.name);
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "two rows are named " << name;
    ASSERT_FALSE(name.empty());
    for (char c : name) EXPECT_TRUE(absl::ascii_islower(c) || c == '_') << name;
    EXPECT_FALSE(row.kind.emits.empty());
    EXPECT_TRUE(std::isfinite(row.kind.default_weight) && row.kind.default_weight >= 0);
    any_weight = any_weight || row.kind.default_weight > 0;
    EXPECT_NE(row.can, nullptr);
    EXPECT_NE(row.emit, nullptr);
  }
  EXPECT_TRUE(any_weight) << "the defaults must weigh something";
  // The public view is the table, in the table's order (the draw order).
  ASSERT_EQ(ChaosKinds().size(), ChaosWorld::Kinds().size());
  for (size_t i = 0; i < ChaosKinds().size(); ++i) {
    EXPECT_EQ(ChaosKinds()[i].name, ChaosWorld::Kinds()[i].kind.name);
    EXPECT_TRUE(IsChaosKind(ChaosKinds()[i].name));
  }
  EXPECT_FALSE(IsChaosKind("allocc"));
}

// Every kind weighted alike on a lab: each row's emitter is reached and emits the op its row
// names, so no row is a name without a handler behind it.
TEST(ChaosKindsTest, EveryKindEmitsTheOpItsRowNames) {
  std::string weights;
  for (const ChaosKind& k : ChaosKinds()) {
    absl::StrAppend(&weights, weights.empty() ? "" : ", ", k.name, ": 1");
  }
  absl::StatusOr<Scenario> s = LoadScenarioText(
      absl::StrCat("name: kinds\nprofile: v6.15\nlab: {seed: 1}\nstrategies: [dma-tracking]\n"
                   "expect: {default: {none: false}}\nchaos:\n  ops: 3000\n  weights: {",
                   weights, "}\n"),
      "kinds.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::unique_ptr<LabTarget> target = EmbeddedTarget();
  absl::StatusOr<ScenarioResult> r = RunScenario(*s, *target, {.seed = 3, .record_trace = true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->runs.size(), 1u);
  EXPECT_EQ(r->runs[0].rejected_ops, 0u);
  std::set<std::string> ops;
  for (const auto& step : r->runs[0].trace) ops.insert(step.line.substr(0, step.line.find(' ')));
  for (const ChaosKind& k : ChaosKinds()) {
    EXPECT_TRUE(ops.count(FirstOp(k.emits))) << k.name << " never emitted " << FirstOp(k.emits);
  }
}

TEST(ChaosKindsTest, SchemaListsExactlyTheTable) {
  std::ifstream in(std::string(PPSIM_SOURCE_DIR) + "/client/scenarios/scenario.schema.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json schema = nlohmann::json::parse(in);
  std::set<std::string> listed;
  for (const auto& name :
       schema["properties"]["chaos"]["properties"]["weights"]["propertyNames"]["enum"]) {
    listed.insert(name.get<std::string>());
  }
  std::set<std::string> table;
  for (const ChaosKind& k : ChaosKinds()) table.emplace(k.name);
  EXPECT_EQ(listed, table);
}

TEST(ChaosKindsTest, HelpKindsListsEveryKind) {
  const std::string help = ChaosKindHelp();
  for (const ChaosKind& k : ChaosKinds()) {
    EXPECT_THAT(help, HasSubstr(absl::StrCat(k.name, " "))) << k.name;
  }
}

}  // namespace
}  // namespace ppsim::chaos
